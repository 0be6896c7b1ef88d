// Package whip serves WHIP (RFC 9725) publishing and WHEP playback on the portal's HTTP
// listener. A WHIP or WHEP session is one more OWT signaling session of the portal (a
// participant that logs in with the bearer token, then publishes or subscribes with the
// client's offer), so rooms, permissions, codecs and media agents treat it exactly as any
// other participant (docs/whip-whep.md).
package whip

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/conclave-rtc/conclave/common/iceconfig"
	"github.com/conclave-rtc/conclave/common/protocol"
)

// Config tunes the endpoint.
type Config struct {
	// ICEServers are announced in Link headers (RFC 9725 §4.6); nil: none.
	ICEServers *iceconfig.Issuer
	// AnswerTimeout bounds the wait for the media agent's answer (default 10 s).
	AnswerTimeout time.Duration
}

// Server is the WHIP/WHEP endpoint. Its sessions end with Close.
type Server struct {
	cfg  Config
	hub  Hub
	keys KeyStore
	log  *slog.Logger

	mu       sync.Mutex
	sessions map[string]*session
	closing  bool
	wg       sync.WaitGroup // session watchers
}

// New returns an endpoint whose sessions join rooms through hub. keys resolves stream keys;
// nil accepts room tokens only.
func New(cfg Config, hub Hub, keys KeyStore, log *slog.Logger) *Server {
	if cfg.AnswerTimeout <= 0 {
		cfg.AnswerTimeout = 10 * time.Second
	}
	return &Server{cfg: cfg, hub: hub, keys: keys, log: log, sessions: map[string]*session{}}
}

// Register adds the endpoint's routes to mux.
func (s *Server) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /whip", s.cors(s.postWHIP))
	mux.HandleFunc("POST /whep", s.cors(s.postWHEP))
	mux.HandleFunc("POST /whep/{stream}", s.cors(s.postWHEP))
	for _, kind := range []string{kindWHIP, kindWHEP} {
		mux.HandleFunc("PATCH /"+kind+"/sessions/{id}", s.cors(s.patch(kind)))
		mux.HandleFunc("DELETE /"+kind+"/sessions/{id}", s.cors(s.delete(kind)))
		mux.HandleFunc("OPTIONS /"+kind+"/sessions/{id}", s.cors(s.options("PATCH, DELETE, OPTIONS")))
	}
	mux.HandleFunc("OPTIONS /whip", s.cors(s.options("POST, OPTIONS")))
	mux.HandleFunc("OPTIONS /whep", s.cors(s.options("POST, OPTIONS")))
	mux.HandleFunc("OPTIONS /whep/{stream}", s.cors(s.options("POST, OPTIONS")))
	mux.HandleFunc("GET /whep-player", servePlayer)
}

// Count returns the number of live sessions.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// Close ends every session and refuses new ones; it returns once their participants left.
func (s *Server) Close() {
	s.mu.Lock()
	s.closing = true
	all := make([]*session, 0, len(s.sessions))
	for _, ss := range s.sessions {
		all = append(all, ss)
	}
	s.mu.Unlock()
	for _, ss := range all {
		ss.close("portal shutting down")
	}
	s.wg.Wait()
}

// cors adds the CORS headers browsers need to call the endpoint from any page (the bearer
// token, not a cookie, authorises; RFC 9725 §4.1 asks for CORS support).
func (s *Server) cors(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Access-Control-Allow-Origin", "*")
		hd.Set("Access-Control-Allow-Methods", "POST, PATCH, DELETE, OPTIONS")
		hd.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match")
		hd.Set("Access-Control-Expose-Headers", "Location, ETag, Link, Accept-Patch")
		h(w, r)
	}
}

// options answers OPTIONS (preflight or discovery) without touching any session.
func (s *Server) options(allow string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		if strings.HasPrefix(allow, "POST") {
			w.Header().Set("Accept-Post", "application/sdp")
		} else {
			w.Header().Set("Accept-Patch", "application/trickle-ice-sdpfrag")
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// readBody checks the media type and reads a bounded body.
func readBody(w http.ResponseWriter, r *http.Request, want string, wrongType *Error) (string, *Error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != want {
		return "", wrongType
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSDPBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return "", errBodyTooBig
		}
		return "", sdpError(ErrMalformedSDP)
	}
	return string(data), nil
}

// bearer returns the request's bearer credential.
func bearer(r *http.Request) (string, *Error) {
	scheme, cred, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(cred) == "" {
		return "", errNoBearer
	}
	return strings.TrimSpace(cred), nil
}

// postWHIP creates a WHIP session: join with the token, publish the offer's tracks.
func (s *Server) postWHIP(w http.ResponseWriter, r *http.Request) {
	s.create(w, r, kindWHIP, func(ss *session, tracks []track, _ joined) *Error {
		return ss.publish(tracks)
	})
}

// postWHEP creates a WHEP session: join with the token, subscribe the path's stream (or
// the room's mixed view named by ?view=, the first one by default).
func (s *Server) postWHEP(w http.ResponseWriter, r *http.Request) {
	id, view := r.PathValue("stream"), r.URL.Query().Get("view")
	s.create(w, r, kindWHEP, func(ss *session, tracks []track, j joined) *Error {
		st, ok := findStream(j.Room.Streams, id, view)
		if !ok {
			return errNoStream
		}
		return ss.subscribe(tracks, st)
	})
}

// findStream returns the stream with id, or with no id the mixed stream of view (any
// mixed stream when view is empty).
func findStream(streams []protocol.StreamInfo, id, view string) (protocol.StreamInfo, bool) {
	for _, st := range streams {
		if id != "" && st.ID == id {
			return st, true
		}
		if id == "" && st.Type == "mixed" && (view == "" || mixedLabel(st) == view) {
			return st, true
		}
	}
	return protocol.StreamInfo{}, false
}

// create runs the common part of a WHIP or WHEP POST; op publishes or subscribes.
func (s *Server) create(w http.ResponseWriter, r *http.Request, kind string, op func(*session, []track, joined) *Error) {
	ss, answer, e := s.open(r.Context(), w, r, kind, op)
	if e != nil {
		writeError(w, e)
		return
	}
	loc := "/" + kind + "/sessions/" + ss.id
	h := w.Header()
	h.Set("Content-Type", "application/sdp")
	h.Set("Location", loc)
	h.Set("ETag", ss.etag)
	h.Set("Accept-Patch", "application/trickle-ice-sdpfrag")
	for _, l := range s.links(ss.id) {
		h.Add("Link", l)
	}
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, answer)
}

// open checks the request, joins, starts the operation and negotiates; on any failure
// the participant has left again and nothing stays allocated.
func (s *Server) open(ctx context.Context, w http.ResponseWriter, r *http.Request, kind string,
	op func(*session, []track, joined) *Error) (*session, string, *Error) {
	text, e := readBody(w, r, "application/sdp", errContentType)
	if e != nil {
		return nil, "", e
	}
	o, err := parseOffer(text)
	if err != nil {
		return nil, "", sdpError(err)
	}
	dir := map[string]string{kindWHIP: "send", kindWHEP: "recv"}[kind]
	tracks, err := o.tracks(dir)
	if err != nil {
		return nil, "", sdpError(err)
	}
	cred, e := bearer(r)
	if e != nil {
		return nil, "", e
	}
	tok, e := s.token(ctx, cred)
	if e != nil {
		return nil, "", e
	}
	ss := newSession(s.hub, kind)
	answer, e := s.setup(ctx, ss, tok, text, tracks, op)
	if e == nil {
		e = s.register(ss)
	}
	if e != nil {
		ss.close("setup failed")
		return nil, "", e
	}
	ss.offer, ss.ufrag, ss.pwd = text, o.ufrag, o.pwd
	s.log.Info(kind+" session started", "session", ss.id, "operation", ss.opID)
	return ss, answer, nil
}

// setup logs in, runs op and negotiates the offer.
func (s *Server) setup(ctx context.Context, ss *session, tok, text string, tracks []track,
	op func(*session, []track, joined) *Error) (string, *Error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	j, e := ss.login(tok)
	if e != nil {
		return "", e
	}
	if e := op(ss, tracks, j); e != nil {
		return "", e
	}
	nctx, cancel := context.WithTimeout(ctx, s.cfg.AnswerTimeout)
	defer cancel()
	return ss.negotiate(nctx, text)
}

// register adds a negotiated session and starts its watcher, which ends it when the room
// ends its publication or subscription (ICE failure, the publisher left, the room closed).
func (s *Server) register(ss *session) *Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return errClosing
	}
	s.sessions[ss.id] = ss
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		<-ss.sock.ended
		s.log.Info(ss.kind+" session ended", "session", ss.id, "reason", ss.sock.why())
		s.end(ss, ss.sock.why())
	}()
	return nil
}

// end closes a session and forgets it, before it returns: a request that follows finds no
// session.
func (s *Server) end(ss *session, reason string) {
	ss.close(reason)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sessions[ss.id] == ss {
		delete(s.sessions, ss.id)
	}
}

// lookup returns the live session of kind with id.
func (s *Server) lookup(kind, id string) (*session, *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.sessions[id]
	if ss == nil || ss.kind != kind {
		return nil, errNoSession
	}
	return ss, nil
}

// delete ends a session (RFC 9725 §4.2).
func (s *Server) delete(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ss, e := s.lookup(kind, r.PathValue("id"))
		if e != nil {
			writeError(w, e)
			return
		}
		s.end(ss, "deleted by the client")
		w.WriteHeader(http.StatusOK)
	}
}

// patch applies a trickle-ice-sdpfrag: candidates are trickled (204), new ICE credentials
// restart ICE (200 with the server's fragment and a new ETag), RFC 9725 §4.3.
func (s *Server) patch(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ss, e := s.lookup(kind, r.PathValue("id"))
		if e != nil {
			writeError(w, e)
			return
		}
		text, e := readBody(w, r, "application/trickle-ice-sdpfrag", errFragType)
		if e != nil {
			writeError(w, e)
			return
		}
		f, err := parseFragment(text)
		if err != nil {
			writeError(w, sdpError(err))
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.AnswerTimeout)
		defer cancel()
		frag, etag, e := ss.apply(ctx, f, r.Header.Get("If-Match"))
		switch {
		case e != nil:
			writeError(w, e)
		case frag == "":
			w.WriteHeader(http.StatusNoContent)
		default:
			w.Header().Set("Content-Type", "application/trickle-ice-sdpfrag")
			w.Header().Set("ETag", etag)
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, frag)
		}
	}
}

// apply trickles or restarts ICE. A restart needs no If-Match (RFC 9725: "*" or the ETag
// when present); a trickle with a stale If-Match is refused with 412.
func (ss *session) apply(ctx context.Context, f fragment, ifMatch string) (frag, etag string, e *Error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	select {
	case <-ss.closed:
		return "", "", errNoSession
	default:
	}
	restart := f.ufrag != "" && (f.ufrag != ss.ufrag || f.pwd != ss.pwd)
	if ifMatch != "" && ifMatch != "*" && ifMatch != ss.etag {
		return "", "", errETag
	}
	if !restart {
		return "", "", ss.trickle(f)
	}
	offer := restartOffer(ss.offer, f.ufrag, f.pwd)
	answer, e := ss.negotiate(ctx, offer)
	if e != nil {
		return "", "", e
	}
	ss.offer, ss.ufrag, ss.pwd, ss.etag = offer, f.ufrag, f.pwd, newETag()
	if e := ss.trickle(f); e != nil {
		return "", "", e
	}
	return answerFragment(answer), ss.etag, nil
}
