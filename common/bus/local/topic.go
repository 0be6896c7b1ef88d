package local

import "strings"

// Match reports whether topic matches the AMQP topic pattern (RabbitMQ topic-exchange
// semantics): both are '.'-separated words, '*' matches exactly one word and '#' matches zero
// or more words. The empty string has zero words, so only "" and "#" match it.
func Match(pattern, topic string) bool {
	return matchWords(words(pattern), words(topic))
}

func words(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ".")
}

// matchWords is a dynamic programme over (pattern word, topic word) positions; reach[j] says
// whether the pattern prefix processed so far can consume exactly the first j topic words.
// It runs in O(len(p)·len(t)) whatever the number of '#' words.
func matchWords(p, t []string) bool {
	reach := make([]bool, len(t)+1)
	next := make([]bool, len(t)+1)
	reach[0] = true
	for _, pw := range p {
		clear(next)
		for j := 0; j <= len(t); j++ {
			switch {
			case pw == "#":
				// zero words, or extend a match that already consumed one more word
				next[j] = reach[j] || (j > 0 && next[j-1])
			case j > 0 && reach[j-1] && (pw == "*" || pw == t[j-1]):
				next[j] = true
			}
		}
		reach, next = next, reach
	}
	return reach[len(t)]
}
