// Package cluster keeps track of the live agents of a Conclave deployment and picks one of
// them for a task, the way OWT's cluster manager does.
//
// Every agent runs an Announcer that publishes its Worker record (with its current load) on
// the bus topic "cluster.beat.<purpose>" once a second, and "cluster.leave.<purpose>" when it
// stops. A Registry, run by every process that schedules work, listens to "cluster.#", keeps
// the workers it hears from and forgets one after Expiry without a beat (3 s: three missed
// 1 s beats, OWT's check_alive_count) or when it leaves.
//
// Schedule follows OWT's scheduler: a task already placed on a live, available worker stays
// there; otherwise the available workers (Load < MaxLoad) of the purpose go through the
// purpose's matcher (ISP/region preference for portal, webrtc, streaming and audio) and then
// the purpose's strategy (least-used, most-used, last-used, round-robin, randomly-pick,
// weight-robin).
//
// Unlike OWT there is no central cluster-manager process: each Registry builds the same view
// from the same beats, so any process can schedule and none is a single point of failure.
// Stateful strategies (last-used, round-robin, weight-robin) and task reservations are kept
// per Registry.
package cluster
