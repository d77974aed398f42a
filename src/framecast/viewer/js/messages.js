// The names of the messages the viewer reads and sends on the live sockets, spelt as the
// server spells them (framecast.live.protocol, framecast.live.commands): tests check that
// they are equal, so that a rename on one side cannot silently break the other. Pure.
// See docs/viewer.md, "How it stays live", and docs/control.md.

/** `{"type": "new_image", …}` on `ws`, and the `new_image` event of `events`. */
export const NEW_IMAGE = "new_image";

/** `{"type": "disconnect"}` on `ws`, and the `disconnect` event of `events`: the server is
 *  stopping. */
export const DISCONNECT = "disconnect";

/** The built-in commands the operator buttons send on `control` (`{"cmd": …}`). */
export const COMMANDS = Object.freeze({ snapshot: "snapshot_now", reset: "reset" });

/** The producer's own command the point tool sends (`server.on_command("point", …)`). */
export const POINT = "point";

/** Presenting and following on `ws` (docs/together.md): the viewer sends `present` (its
 *  view: its URL fragment) and `stop_presenting`; the server answers `presenting` (the
 *  presentation's number, or an error) and tells every viewer `presenter` (who presents and
 *  their view; a null view when it ended). */
export const PRESENT = "present";
export const STOP_PRESENTING = "stop_presenting";
export const PRESENTING = "presenting";
export const PRESENTER = "presenter";

/** `{"type": "alert", "stream", "seq", "rule", "key", "value", "threshold", "time"}` on `ws`:
 *  an alert rule of the server fired (docs/together.md, "Alerts"). */
export const ALERT = "alert";
/** `{"type": "marks", "stream", "marks": [...]}` on `ws`, and the `marks` event of `events`:
 *  every shared mark of the stream, after each change (docs/together.md). */
export const MARKS = "marks";
