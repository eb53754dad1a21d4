// PIGEON.CFG: the whole product's configuration, at most 10 flat keys named
// a-z0-9_, one "key=value" per line; "#" starts a comment line. Every key is
// listed here with its default and its check, so an unknown key, a bad value
// or a repeated key is refused with the line that holds it.

/** What a value must be: a whole number in [min, max], or text matching test. */
interface Key {
  min?: number;
  max?: number;
  test?: (v: string) => boolean;
  what: string;
}
var pins = function (v: string) {
  for (var p = v.split(","), i = 0; i < p.length; i++)
    if (!/^[A-Z]+[0-9]+$/.test(p[i])) return false;
  return p.length > 0;
};
// Espruino's regexes have no quantified groups: lists are split, then each item tested.
var names = function (v: string) {
  for (var p = v.split(","), i = 0; i < p.length; i++) if (!/^[a-z0-9_]+$/.test(p[i])) return false;
  return true;
};
/** The keys, at most 10 forever: adding one is a change to the product. */
export var KEYS: { [k: string]: Key } = {
  interval: { min: 1, max: 86400, what: "seconds between readings, 1 to 86400" },
  per_message: { min: 1, max: 63, what: "readings per message, 1 to 63" },
  sensors: {
    test: function (v) {
      return names(v);
    },
    what: "a comma-separated list of sensor names (temp, vbat, a0 ...)",
  },
  sd: {
    test: function (v) {
      return pins(v) && v.split(",").length == 4;
    },
    what: "the SD card's SPI pins sck,mosi,miso,cs (e.g. B3,B5,B4,B6)",
  },
  log_mb: { min: 1, max: 2047, what: "log size in MiB, 1 to 2047" },
  watchdog: { min: 0, max: 3600, what: "watchdog seconds, 0 (off) to 3600" },
};
export var DEFAULTS: { [k: string]: any } = {
  interval: 600,
  per_message: 1,
  sensors: "temp",
  log_mb: 64,
  watchdog: 60,
};

/** Parses PIGEON.CFG's text; returns the settings (defaults filled in) or throws "PIGEON.CFG line N: why". */
export function parseConfig(text: string): { [k: string]: any } {
  var out: { [k: string]: any } = {},
    seen: { [k: string]: number } = {},
    n = 0,
    lines = text.split("\n"),
    i,
    l,
    eq,
    k,
    v,
    key: Key;
  for (var d in DEFAULTS) out[d] = DEFAULTS[d];
  for (i = 0; i < lines.length; i++) {
    l = lines[i].replace(/\r$/, "").trim();
    if (!l || l.charAt(0) == "#") continue;
    eq = l.indexOf("=");
    k = (eq < 0 ? l : l.slice(0, eq)).trim();
    v = eq < 0 ? "" : l.slice(eq + 1).trim();
    var where = "PIGEON.CFG line " + (i + 1) + ": ";
    if (eq < 0) throw new Error(where + "expected key=value");
    if (!/^[a-z0-9_]+$/.test(k))
      throw new Error(where + "a key is made of a-z 0-9 _ only: " + JSON.stringify(k));
    if (++n > 10) throw new Error(where + "more than 10 keys");
    key = KEYS[k];
    if (!key)
      throw new Error(
        where + "unknown key " + k + " (known: " + Object.keys(KEYS).join(", ") + ")"
      );
    if (seen[k]) throw new Error(where + k + " is already set on line " + seen[k]);
    seen[k] = i + 1;
    if (key.test ? !key.test(v) : !/^[0-9]+$/.test(v) || +v < key.min! || +v > key.max!)
      throw new Error(where + k + " must be " + key.what + ", not " + JSON.stringify(v));
    out[k] = key.test ? v : +v;
  }
  return out;
}
