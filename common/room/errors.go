package room

// MsgMediaOutConflict is OWT's message (checkMediaOut) when a view's audio or video format is
// not offered by mediaOut.
const MsgMediaOutConflict = "MediaOut conflicts with View Setting"
