// Store appends timed inside another engine (duk): an in-memory card with
// Espruino's file API, the device's card and logger code, one run.
import { appendMessage, createLog, File, openLog } from "../src/log";
import { identity, keys } from "../src/index";
import { append, openFeed, readingBody } from "../src/ownfeed";
import { enc, encode } from "../src/utf8";

declare var Date: any;

/** Files in memory; a seek past the end extends with zeros; read gives a byte string. */
function memoryDisk() {
  var files: { [p: string]: { b: Uint8Array; n: number } } = {};
  return {
    openFile: function (path: string, mode: string): File {
      if (mode == "w" || !files[path]) files[path] = { b: new Uint8Array(4096), n: 0 };
      var f = files[path],
        pos = 0;
      function room(n: number) {
        if (n > f.b.length) {
          var b = new Uint8Array(Math.max(n, 2 * f.b.length));
          b.set(f.b);
          f.b = b;
        }
        if (n > f.n) f.n = n;
      }
      return {
        read: function (n: number) {
          if (pos >= f.n) return undefined;
          var e = Math.min(f.n, pos + n),
            s = "";
          for (; pos < e; pos++) s += String.fromCharCode(f.b[pos]);
          return s;
        },
        write: function (d: any) {
          room(pos + d.length);
          for (var i = 0; i < d.length; i++)
            f.b[pos++] = typeof d == "string" ? d.charCodeAt(i) : d[i];
          return d.length;
        },
        seek: function (n: number) {
          if (mode != "r") room(n);
          pos = n;
        },
        close: function () {},
      };
    },
  };
}

/** Milliseconds per append: signing and storing (the logger's step), and storing alone. */
export function run(n: number) {
  var disk = memoryDisk(),
    seed = new Uint8Array(32),
    t0,
    t1,
    texts: string[] = [],
    i,
    k = keys(seed);
  createLog(disk, "A.LOG", identity(k), 2000, 1);
  var feed = openFeed(openLog(disk, "A.LOG"), disk.openFile("A.LOG", "r"), k);
  t0 = Date.now();
  for (i = 0; i < n; i++)
    texts.push(
      append(feed, "reading", readingBody(1764000000 + 600 * i, 1, 600, ["temp"], [[20 + i / 10]]))
    );
  t1 = Date.now();
  createLog(disk, "B.LOG", identity(k), 2000, 2);
  var log = openLog(disk, "B.LOG"),
    t2 = Date.now();
  for (i = 0; i < n; i++) {
    var len = encode(texts[i]); // before reading enc.b: encoding may replace the buffer
    appendMessage(log, enc.b, len);
  }
  return { signAndAppendMs: (t1 - t0) / n, appendMs: (Date.now() - t2) / n };
}
