/**
 * Support module of the hardware profile only (cucumber.js adds it after support/hooks.ts): raises
 * cucumber's default step timeout above every wait a hardware step may make (a runtime restart
 * waits up to 360 s), so each wait fails with its own message instead of a bare step timeout.
 *
 * Why a module and not a world parameter: cucumber builds its step definitions with the default
 * timeout while the support code loads, before any world (or BeforeAll hook) sees the profile's
 * worldParameters; the last `setDefaultTimeout` call while loading wins. SCENARIO_TIMEOUT_MS, which
 * is visible then, still lengthens it when it exceeds the world's own waits.
 */
import { setDefaultTimeout } from "@cucumber/cucumber";
import { scenarioTimeoutMs } from "../../world.js";
import { hardwareStepTimeoutMs } from "./timeouts.js";

setDefaultTimeout(hardwareStepTimeoutMs(scenarioTimeoutMs({})));
