// The one fault model of every emulated card (sim/card/device.ts under FatFs,
// sim/card/memdisk.ts under the store code alone): power fails at a chosen
// sector write, atomically or tearing that sector.
import { prng } from "../prng";

export const SECTOR = 512;

/** Thrown when the card loses power: at the armed sector write (see `Fault.arm`) or by a cut. */
export class PowerCut extends Error {
  constructor(message = "power cut") {
    super(message);
    this.name = "PowerCut";
  }
}

/** Where a sector lies: reserved (boot) sectors, a FAT copy, the root directory, a sub-directory's cluster, or file data. */
export type Region = "boot" | "fat" | "root" | "dir" | "data";

/**
 * How power fails. `atomic`: the k-th sector write from now, and every later one,
 * never reaches the card. `torn`: the k-th write lands as a random prefix of the
 * new bytes, the rest of the sector being the old bytes or random garbage; every
 * later write is lost. Boot, FAT and directory sectors stay atomic under `torn`
 * (FatFs has no way to protect them, so a model that tore them would only show
 * that), so a torn fault falling on one of them acts as `atomic`.
 */
export interface FaultPlan {
  model: "atomic" | "torn";
  /** 1 = the very next sector write. */
  after: number;
  /** Seeds the torn prefix and garbage. */
  seed?: number;
  /** What follows the torn prefix: the sector's old bytes, random bytes, or either (chosen by the PRNG; default). */
  tail?: "old" | "garbage" | "either";
}

/** What happened at the fault, for tests and reports. */
export interface FaultRecord {
  model: "atomic" | "torn";
  sector: number;
  region: Region;
  /** "lost": nothing of this write reached the card; "torn": `prefix` new bytes did. */
  outcome: "lost" | "torn";
  prefix: number;
  tail: "old" | "garbage" | null;
}

/** Power to a card: counts down to the armed sector write, then tears or drops it, and drops every write after it. */
export class Fault {
  /** Power was lost (a fault fired, or a cut): writes are dropped until `powerOn()`. */
  dead = false;
  /** What happened at the last fault. */
  record: FaultRecord | null = null;
  private plan: FaultPlan | null = null;
  private untilFault = 0;

  /** Arms a power fault at the `plan.after`-th sector write from now. */
  arm(plan: FaultPlan): void {
    if (!(plan.after >= 1)) throw new Error("armFault: after must be >= 1");
    this.plan = { ...plan };
    this.untilFault = Math.floor(plan.after);
    this.record = null;
  }
  disarm(): void {
    this.plan = null;
  }
  /** Cuts power now: every later write is lost. */
  cut(): void {
    this.dead = true;
    this.plan = null;
  }
  /** Power back: writes reach the card again (a fault armed for later stays armed). */
  powerOn(): void {
    this.dead = false;
  }
  /**
   * One sector write of `data` over `old` (as long as data): false when it must
   * not reach the card (power is off, or it is the armed write, lost); true when
   * it may. A torn write is landed here, into `old`, and answers false.
   */
  write(sector: number, region: Region, data: Uint8Array, old: Uint8Array): boolean {
    if (this.dead) return false;
    if (!this.plan || --this.untilFault > 0) return true;
    const plan = this.plan;
    this.plan = null;
    this.dead = true;
    if (plan.model === "torn" && region === "data") {
      const rnd = prng(plan.seed ?? 1);
      const prefix = rnd.int(data.length); // 0..511 new bytes of a sector: never the whole
      const tail =
        plan.tail === "old" || plan.tail === "garbage"
          ? plan.tail
          : rnd.float() < 0.5
            ? "old"
            : "garbage";
      old.set(data.subarray(0, prefix));
      if (tail === "garbage") for (let i = prefix; i < data.length; i++) old[i] = rnd.int(256);
      this.record = { model: plan.model, sector, region, outcome: "torn", prefix, tail };
    } else
      this.record = { model: plan.model, sector, region, outcome: "lost", prefix: 0, tail: null };
    return false;
  }
}
