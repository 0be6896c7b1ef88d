package room

// normalized returns a copy of r whose lists are never nil (so they are written as [] like
// mongoose arrays) and whose views, view videos and SIP account are not shared with r, so a
// caller may change the result without touching r.
func (r Room) normalized() Room {
	r.Roles = nonNil(r.Roles)
	views := make([]View, len(r.Views))
	for i, v := range r.Views {
		if v.Video != nil {
			video := *v.Video
			video.Layout.Templates.Custom = normalizedCustom(video.Layout.Templates.Custom)
			v.Video = &video
		}
		views[i] = v
	}
	r.Views = views
	r.MediaIn.Audio = nonNil(r.MediaIn.Audio)
	r.MediaIn.Video = nonNil(r.MediaIn.Video)
	r.MediaOut.Audio = nonNil(r.MediaOut.Audio)
	r.MediaOut.Video.Format = nonNil(r.MediaOut.Video.Format)
	p := &r.MediaOut.Video.Parameters
	p.Resolution = nonNil(p.Resolution)
	p.Framerate = nonNil(p.Framerate)
	p.Bitrate = nonNil(p.Bitrate)
	p.KeyFrameInterval = nonNil(p.KeyFrameInterval)
	if r.SIP != nil {
		sip := *r.SIP
		r.SIP = &sip
	}
	return r
}

// normalizedCustom copies custom templates with non-nil region lists.
func normalizedCustom(custom []CustomTemplate) []CustomTemplate {
	out := make([]CustomTemplate, len(custom))
	for i, t := range custom {
		t.Region = nonNil(t.Region)
		out[i] = t
	}
	return out
}

// nonNil returns s, or an empty slice when s is nil.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
