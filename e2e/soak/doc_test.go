// Package soak holds the overload, soak, drain and security tests of Conclave: they run the
// real binaries (the all-in-one `conclave`, or every separate agent on RabbitMQ and a
// MongoDB-wire server) as child processes and drive them over their public interfaces only:
// the MAuth-signed management API and the portal's Socket.IO signaling.
//
// Figures (joins per second, goroutines and heap before and after, exit times) are logged,
// never compared with timing thresholds; deadlines are generous and only stop a hung test.
package soak
