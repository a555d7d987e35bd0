// Stops any simulator, Glance or plugin process that a failed test of this run left behind (see processes.ts).
import { stopRecorded } from "../../scripts/lib/processes";

export default async function globalTeardown(): Promise<void> {
  stopRecorded();
}
