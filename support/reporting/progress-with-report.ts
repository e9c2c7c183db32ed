import { ProgressFormatter, type IFormatterOptions } from "@cucumber/cucumber";

/**
 * The `progress` formatter, plus one last line saying where the run's HTML report is (the
 * profile's `html:` output, passed as formatOptions.reportPath), so a scenario writer never has
 * to look for it.
 */
export default class ProgressWithReport extends ProgressFormatter {
  static override readonly documentation = "progress, then the path of the HTML report";

  constructor(options: IFormatterOptions) {
    super(options);
    const report = (options.parsedArgvOptions as { reportPath?: unknown }).reportPath;
    options.eventBroadcaster.on("envelope", (envelope: { testRunFinished?: unknown }) => {
      if (envelope.testRunFinished !== undefined && typeof report === "string")
        this.log(`\nreport: ${report}\n`);
    });
  }
}
