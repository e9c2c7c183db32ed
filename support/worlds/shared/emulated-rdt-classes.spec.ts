import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pino } from "pino";
import type { NriContainer, NriPod } from "../../../src/nri/types.js";
import { MockPidSource } from "../../../src/testing/index.js";
import { ClassPlacingPidSource, EmulatedRdtClasses } from "./emulated-rdt-classes.js";
import { EMULATED_RESCTRL_ROOT as ROOT, EmulatedResctrl } from "./emulated-resctrl.js";

const GOLD = `${ROOT}/gold`;

function setup(alive: (tid: number) => boolean = () => true): {
  kernel: EmulatedResctrl;
  classes: EmulatedRdtClasses;
} {
  const kernel = new EmulatedResctrl("s1_", pino({ level: "silent" }), alive);
  return { kernel, classes: new EmulatedRdtClasses(kernel) };
}

const ctr = (id: string, name: string, sandbox: string): NriContainer =>
  ({ id, name, podSandboxId: sandbox, pid: 0 }) as unknown as NriContainer;

describe("EmulatedRdtClasses", () => {
  it("a class is a control group of MemFs: tasks written to it live there, rmdir sends them back", async () => {
    const { kernel, classes } = setup((t) => t !== 99);
    await classes.create("gold");
    assert.equal(classes.pathOf("gold"), GOLD);
    assert.throws(() => classes.pathOf("mon_groups"), /failed to name RDT class/);
    await classes.moveTasks("gold", [11, 99, 12]);
    assert.deepEqual(kernel.fs.tasksOf(GOLD), [11, 12], "an exited task (ESRCH) is skipped");
    assert.equal(kernel.fs.readFile("/proc/11/cpu_resctrl_groups"), "res:gold\nmon:\n");
    await classes.remove("gold");
    assert.equal(kernel.fs.groupOf(11), ROOT);
    await assert.rejects(classes.moveTasks("gold", [11]), /does not exist/);
    assert.throws(() => classes.monitoringGroups("gold"), /does not exist/);
  });

  it("seeds groups in a class's mon_groups and lists them; names control groups as the scenario does", async () => {
    const { kernel, classes } = setup();
    await classes.create("gold");
    await classes.seed("gold", { label: "stale", owner: "plugin" });
    await classes.seed("gold", { label: "theirs", owner: "other" });
    assert.deepEqual(classes.monitoringGroups("gold"), ["other_theirs", "s1_stale"]);
    assert.equal(kernel.seededExists("stale"), true);
    await assert.rejects(classes.seed("silver", { label: "x", owner: "plugin" }), /does not exist/);
    assert.equal(classes.nameOf(ROOT), undefined);
    assert.equal(classes.nameOf(GOLD), "gold");
    const views = await classes.views(
      [
        { controlGroup: ROOT, path: `${ROOT}/mon_groups/s1_u`, state: "Exists" },
        { controlGroup: GOLD, path: "", state: "Failed" },
      ],
      () => [3, 1],
    );
    assert.deepEqual(views, [
      { rdtClass: undefined, path: `${ROOT}/mon_groups/s1_u`, state: "Exists", tasks: [1, 3] },
      { rdtClass: "gold", path: "", state: "Failed", tasks: [] },
    ]);
  });
});

describe("ClassPlacingPidSource", () => {
  it("puts the tasks of an assigned container into its class before answering, each task once", async () => {
    const { kernel, classes } = setup();
    await classes.create("gold");
    const inner = new MockPidSource().setPids("c1", [11, 12]).setPids("c2", [21]);
    const src = new ClassPlacingPidSource(inner, classes);
    src.assign("sb", "app", "gold");
    const pod = {} as NriPod;
    assert.deepEqual(await src.tasksOf(ctr("c1", "app", "sb"), pod), [11, 12]);
    assert.deepEqual(kernel.fs.tasksOf(GOLD), [11, 12]);
    assert.deepEqual(await src.tasksOf(ctr("c2", "side", "sb"), pod), [21]);
    assert.equal(kernel.fs.groupOf(21), undefined, "an unassigned container is left alone");
    // The plugin moves 11 into its group inside the class; a later read must not pull it out again.
    await kernel.fs.createDir(`${GOLD}/mon_groups/s1_u`);
    await kernel.fs.writeStr(`${GOLD}/mon_groups/s1_u/tasks`, "11");
    await src.tasksOf(ctr("c1", "app", "sb"), pod);
    assert.equal(kernel.fs.groupOf(11), `${GOLD}/mon_groups/s1_u`);
  });

  it("places nothing once the class is gone; placeNow moves a running container's tasks", async () => {
    const { kernel, classes } = setup();
    await classes.create("gold");
    const src = new ClassPlacingPidSource(new MockPidSource().setPids("c1", [11]), classes);
    await src.placeNow("gold", [11]);
    assert.equal(kernel.fs.groupOf(11), GOLD);
    src.assign("sb", "app", "gold");
    await classes.remove("gold");
    assert.deepEqual(await src.tasksOf(ctr("c1", "app", "sb"), {} as NriPod), [11]);
    assert.equal(kernel.fs.groupOf(11), ROOT);
  });
});
