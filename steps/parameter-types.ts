import { defineParameterType } from "@cucumber/cucumber";

/*
 * Parameter types of the step vocabulary. Each turns a piece of domain language into a value;
 * none of them knows anything about worlds.
 */

/** `Exists` or `Failed`: the group state a pod event reports. */
defineParameterType({
  name: "group",
  regexp: /Exists|Failed/,
  transformer: (s: string) => s as "Exists" | "Failed",
});

/** `"a"`, `"a" and "b"`, `"a", "b" and "c"`: a list of scenario names. */
defineParameterType({
  name: "names",
  regexp: /"[^"]*"(?:(?:, | and )"[^"]*")*/,
  transformer: (s: string) => [...s.matchAll(/"([^"]*)"/g)].map((m) => m[1] ?? ""),
});

/** `on` or `off`. */
defineParameterType({ name: "on-off", regexp: /on|off/, transformer: (s: string) => s === "on" });

/** `mounted` or `not mounted`. */
defineParameterType({
  name: "mounted",
  regexp: /mounted|not mounted/,
  transformer: (s: string) => s === "mounted",
});
