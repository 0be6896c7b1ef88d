package amqp

// DropConnection closes the TCP socket under the current session, exactly as a network
// failure would; false means the bus was not connected.
func (b *Bus) DropConnection() bool {
	b.mu.Lock()
	s := b.sess
	b.mu.Unlock()
	if s == nil {
		return false
	}
	_ = s.raw.Close()
	return true
}

// Generation returns the generation of the live session, 0 while disconnected.
func (b *Bus) Generation() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.sess == nil {
		return 0
	}
	return b.sess.gen
}
