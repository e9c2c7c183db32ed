/**
 * A tiny runtime-launched-style plugin for tests: started with the trunk on fd 3 and only
 * NRI_PLUGIN_NAME / NRI_PLUGIN_IDX / NRI_PLUGIN_SOCKET in its environment (as containerd does).
 * Prints one line per event on stdout and exits 0 when the runtime closes the connection.
 */
import { NriStub } from "../../src/nri/index.js";

const stub = new NriStub(
  {
    runPodSandbox: (pod) => void process.stdout.write(`run ${pod.name}\n`),
    removePodSandbox: (pod) => void process.stdout.write(`remove ${pod.name}\n`),
  },
  { name: process.env.NRI_PLUGIN_NAME ?? "fd-plugin", idx: process.env.NRI_PLUGIN_IDX ?? "42" },
);
stub.on("closed", () => process.exit(0));
stub.on("synchronized", () => void process.stdout.write("synchronized\n"));
await stub.start();
