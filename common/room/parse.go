package room

import (
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/conclave-rtc/conclave/common/errs"
)

// MaxBodySize bounds the JSON accepted by ParseCreate, ParseUpdate and Parse. The default room
// is about 2 KiB.
const MaxBodySize = 256 << 10

// ignoredKeys are document keys a GET returns that a PUT may send back unchanged.
var ignoredKeys = []string{"_id", "id", "__v"}

// roomType is the reflect type checkShape walks for a room object.
var roomType = reflect.TypeFor[Room]()

// ParseCreate parses a POST /v1/rooms body {name, options?, path?, pool?} and returns the
// validated room. As in OWT (roomInterface.create), every top-level option key that is absent
// or falsy (null, false, 0, "") takes its default, and a present key replaces the default
// wholesale: nested keys it omits take the schema defaults (true for transcoding and
// notifying, empty lists for mediaIn and mediaOut). Each view starts from DefaultView.
// options.name is overridden by name. The Conclave extension keys path and pool may be given
// at the top level or in options (where OWT's REST clients put room settings), not both.
func ParseCreate(body []byte) (Room, error) {
	v, err := decodeJSON(body, "request body")
	if err != nil {
		return Room{}, err
	}
	top, ok := v.(map[string]any)
	if !ok {
		return Room{}, errs.BadRequest("request body must be a JSON object")
	}
	ext, err := takeExtension(top, "")
	if err != nil {
		return Room{}, err
	}
	name, options, err := createFields(top)
	if err != nil {
		return Room{}, err
	}
	for key, val := range options {
		if isFalsy(val) {
			delete(options, key)
		}
	}
	delete(options, "name")
	for _, key := range ignoredKeys {
		delete(options, key)
	}
	optExt, err := takeExtension(options, "options.")
	if err != nil {
		return Room{}, err
	}
	if (ext.hasPath && optExt.hasPath) || (ext.hasPool && optExt.hasPool) {
		return Room{}, errs.BadRequest("path and pool go either at the top level or in options, not both")
	}
	r, err := apply(Default(name), options)
	if err != nil {
		return Room{}, err
	}
	ext.apply(&r)
	optExt.apply(&r)
	return r, r.Validate()
}

// createFields returns the name and options of a create body.
func createFields(top map[string]any) (string, map[string]any, error) {
	for key := range top {
		if key != "name" && key != "options" {
			return "", nil, errs.BadRequestf("unknown key %s", key)
		}
	}
	name, ok := top["name"].(string)
	if !ok || name == "" {
		return "", nil, errs.BadRequest("name must be a non-empty string")
	}
	options := map[string]any{}
	if raw, present := top["options"]; present {
		if options, ok = raw.(map[string]any); !ok {
			return "", nil, errs.BadRequest("options must be an object")
		}
	}
	return name, options, nil
}

// isFalsy reports whether a JSON value is falsy in JavaScript.
func isFalsy(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case bool:
		return !t
	case string:
		return t == ""
	case json.Number:
		f, err := t.Float64()
		return err == nil && f == 0
	}
	return false
}

// ParseUpdate applies a PUT /v1/rooms/{id} body to current, as OWT's Object.assign onto the
// stored document followed by a save: every present top-level key replaces current's value
// (nested keys it omits take the schema defaults, views start from DefaultView), null keys are
// ignored, "sip": false removes the SIP account, and _id, id and __v are ignored so that a GET
// result can be sent back unchanged. The Conclave extension keys set the path ("" removes it)
// and the pool flag; without them current's stay. The result is validated; its ID is
// current's.
func ParseUpdate(current Room, body []byte) (Room, error) {
	obj, err := decodeObject(body, "request body")
	if err != nil {
		return Room{}, err
	}
	ext, err := takeExtension(obj, "")
	if err != nil {
		return Room{}, err
	}
	r, err := apply(current, obj)
	if err != nil {
		return Room{}, err
	}
	r.ID, r.Path, r.Pool = current.ID, current.Path, current.Pool
	ext.apply(&r)
	return r, r.Validate()
}

// Parse reads a room from its stored configuration (Config). It checks the JSON shape but does
// not validate, so that rooms stored under older rules still load.
func Parse(stored json.RawMessage) (Room, error) {
	obj, err := decodeObject(stored, "stored room")
	if err != nil {
		return Room{}, err
	}
	return apply(Default(""), obj)
}

// decodeObject parses body into a JSON object without nulls and without the ignored keys.
func decodeObject(body []byte, what string) (map[string]any, error) {
	v, err := decodeJSON(body, what)
	if err != nil {
		return nil, err
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, errs.BadRequestf("%s must be a JSON object", what)
	}
	for _, key := range ignoredKeys {
		delete(obj, key)
	}
	return obj, nil
}

// apply replaces base's fields named by obj's keys: each such field is reset to its schema
// default and obj's value is decoded into it.
func apply(base Room, obj map[string]any) (Room, error) {
	if err := checkShape(roomType, obj, ""); err != nil {
		return Room{}, err
	}
	if obj["sip"] == false {
		delete(obj, "sip")
		base.SIP = nil
	}
	schema := reflect.ValueOf(schemaDefaults())
	dst := reflect.ValueOf(&base).Elem()
	for key := range obj {
		f, _ := fieldByJSONName(roomType, key)
		dst.FieldByIndex(f.Index).Set(schema.FieldByIndex(f.Index))
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return Room{}, errs.BadRequestf("room: %v", err)
	}
	if err := json.Unmarshal(b, &base); err != nil {
		return Room{}, errs.BadRequestf("room: %v", err)
	}
	return base.normalized(), nil
}

// schemaDefaults is what a top-level key starts from when it is present: mongoose's per-path
// defaults, not the ROOM_CONFIG ones (so a given mediaOut without video has no video formats).
func schemaDefaults() Room {
	return Room{
		InputLimit:       Unlimited,
		ParticipantLimit: Unlimited,
		Transcoding:      allTranscoding(),
		Notifying:        Notifying{ParticipantActivities: true, StreamChange: true},
	}
}

// Config returns the room's configuration JSON for the store: the REST shape without _id, id
// and __v.
func (r Room) Config() json.RawMessage {
	b, err := json.Marshal(roomFields(r.normalized()))
	if err != nil {
		// Every field type marshals; only a hand-made invalid Bitrate text could get here,
		// and Bitrate.MarshalJSON writes those as strings.
		return json.RawMessage("{}")
	}
	return b
}

// roomFields is Room without its methods, for the default encoder.
type roomFields Room

// MarshalJSON writes the REST shape of a room, as OWT's toObject({getters: true}):
// {"_id", "id", configuration…, "__v": 0}. The id keys are absent when ID is empty; "path"
// and "pool" (a Conclave extension) are present only when set.
func (r Room) MarshalJSON() ([]byte, error) {
	cfg := r.Config()
	return AppendREST(make([]byte, 0, len(cfg)+2*len(r.ID)+len(r.Path)+48), Ref{ID: r.ID, Path: r.Path, Pool: r.Pool}, cfg)
}

// Ref is what the REST shape of a room shows besides its configuration: its id and, when set,
// its path and pool flag (Room.ID, Room.Path, Room.Pool).
type Ref struct {
	ID   string
	Path string
	Pool bool
}

// AppendREST appends the REST shape of a room (Room.MarshalJSON) made from ref and its stored
// configuration, the JSON object Config returned: the stored bytes are used as they are, so a
// list of rooms costs no parsing. ref.ID must be a plain id (24 hex characters).
func AppendREST(dst []byte, ref Ref, config []byte) ([]byte, error) {
	id := ref.ID
	if len(config) < 2 || config[0] != '{' || config[len(config)-1] != '}' {
		return nil, fmt.Errorf("room %s: stored configuration is not a JSON object", id)
	}
	dst = append(dst, '{')
	if id != "" {
		dst = append(dst, `"_id":"`...)
		dst = append(dst, id...)
		dst = append(dst, `","id":"`...)
		dst = append(dst, id...)
		dst = append(dst, `",`...)
	}
	dst = append(dst, config[1:len(config)-1]...)
	if ref.Path != "" {
		p, err := json.Marshal(ref.Path)
		if err != nil {
			return nil, fmt.Errorf("room %s: path: %w", id, err)
		}
		dst = append(append(dst, `,"path":`...), p...)
	}
	if ref.Pool {
		dst = append(dst, `,"pool":true`...)
	}
	return append(dst, `,"__v":0}`...), nil
}

// Role returns the role named name.
func (r Room) Role(name string) (Role, bool) {
	for _, role := range r.Roles {
		if role.Role == name {
			return role, true
		}
	}
	return Role{}, false
}

// View returns the view labelled label.
func (r Room) View(label string) (View, bool) {
	for _, v := range r.Views {
		if v.Label == label {
			return v, true
		}
	}
	return View{}, false
}
