/**
 * How much CPU other processes used while we trained (in cores), as the peer
 * benchmark reports it: a run that shared the machine has a slower clock, so
 * its step count under a time budget says little. Linux only (/proc/stat);
 * elsewhere null.
 */
import { readFileSync } from "node:fs";

/** Busy CPU seconds of the whole machine, from /proc/stat (USER_HZ = 100). */
function machineBusySeconds(): number | null {
  try {
    const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/);
    if (f[0] !== "cpu") return null;
    const v = f.slice(1, 9).map(Number);
    // user nice system idle iowait irq softirq steal: busy = all but idle and iowait.
    return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / 100;
  } catch {
    return null;
  }
}

function selfSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

export class MachineLoad {
  private readonly busy0 = machineBusySeconds();
  private readonly self0 = selfSeconds();
  private readonly wall0 = performance.now();

  /** Average cores used by other processes since construction, or null where unknown. */
  otherCores(): number | null {
    const busy = machineBusySeconds();
    if (busy === null || this.busy0 === null) return null;
    const wall = (performance.now() - this.wall0) / 1000;
    if (wall <= 0) return 0;
    return Math.max(0, busy - this.busy0 - (selfSeconds() - this.self0)) / wall;
  }
}
