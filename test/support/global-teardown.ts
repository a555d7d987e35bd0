// Stops any simulator, Glance or plugin process that a failed test of this run left behind (see processes.ts).
// Also stops what a killed or timed-out `pulumi` left running in this run's program directories (test/cli).
import { stopPrograms } from "../../scripts/lib/pulumi";
import { stopRecorded } from "../../scripts/lib/processes";

export default async function globalTeardown(): Promise<void> {
  stopRecorded();
  stopPrograms();
}
