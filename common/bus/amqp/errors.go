package amqp

import "errors"

// Errors specific to the RabbitMQ implementation; transport failures use the bus sentinels.
var (
	// ErrInvalidConfig: Config.Validate failed.
	ErrInvalidConfig = errors.New("amqp bus: invalid config")
	// ErrNacked: the broker refused a published event (publisher confirms).
	ErrNacked = errors.New("amqp bus: publish not confirmed by broker")
)
