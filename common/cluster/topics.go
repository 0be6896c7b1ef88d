package cluster

import "strings"

// Bus topics. Beats and leaves carry the JSON-encoded Worker.
const (
	topicBeat  = "cluster.beat."
	topicLeave = "cluster.leave."
	// topicAll is the pattern a Registry subscribes to.
	topicAll = "cluster.#"
)

// BeatTopic returns the topic an agent of purpose announces itself on.
func BeatTopic(purpose string) string { return topicBeat + purpose }

// LeaveTopic returns the topic an agent of purpose publishes when it stops.
func LeaveTopic(purpose string) string { return topicLeave + purpose }

// parseTopic splits a cluster topic into its kind ("beat" or "leave") and purpose; ok is
// false for any other topic.
func parseTopic(topic string) (leave bool, purpose string, ok bool) {
	if p, found := strings.CutPrefix(topic, topicBeat); found && p != "" {
		return false, p, true
	}
	if p, found := strings.CutPrefix(topic, topicLeave); found && p != "" {
		return true, p, true
	}
	return false, "", false
}
