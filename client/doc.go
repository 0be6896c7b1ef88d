// Package client is a Go client for Conclave's (and OWT's) conference signaling, protocol
// 1.2 over Socket.IO (package client/sio), with WebRTC media through pion. Tests, the load
// tool and applications use it to join rooms, publish and subscribe.
//
// Every publication and subscription has its own PeerConnection: the client sends no
// transport.id, so the server makes the session id the transport id (like the native OWT
// SDKs). The client always offers, without trickle ICE: it gathers all candidates before
// sending the offer, and the server's candidates come in its answer (owt-protocol.md §4.5).
// Progress events are routed to sessions by transport id. Every wait is bounded by the
// caller's context, and Close ends every goroutine the client started.
//
// Example (media from the embedded clips of package client/media):
//
//	c, info, err := client.Join(ctx, token, client.Options{LoopbackOnly: true})
//	if err != nil { … }
//	defer c.Leave(context.Background())
//
//	video, _ := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "video", "me")
//	go media.NewVP8Source(video).Run(ctx)
//	pub, err := c.Publish(ctx, []webrtc.TrackLocal{video}, client.PublishOptions{})
//
//	for _, s := range c.Streams() { // or watch Options.Events.Stream / OnStream
//		if s.ID == pub.ID() {
//			continue
//		}
//		fc, _ := media.NewFrameCounter(webrtc.MimeTypeVP8)
//		sub, err := c.Subscribe(ctx, s, client.SubscribeOptions{Video: true,
//			OnTrack: func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) { fc.Consume(t) }})
//		…
//		err = fc.WaitDecodable(ctx, 30)
//	}
//	_ = info
//
// Not implemented: relogin with the reconnection ticket (ReconnectionTicket is exposed),
// simulcast publishing, sharing one PeerConnection between sessions, data streams.
package client
