/** The msgpack codec of the kv layer (commands and snapshots). Binary fields must not alias buffers. */
import { Packr } from "msgpackr";

export const kvPackr = new Packr({ useRecords: false, copyBuffers: true, mapsAsObjects: true });
