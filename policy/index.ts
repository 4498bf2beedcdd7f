/**
 * ai-gateway's policy pack (README: "Policy pack"): `pulumi preview --policy-pack policy`. This
 * module only starts the pack: the PolicyPack constructor serves the policies to the engine at
 * once (pulumi-facts §9), so the policies live in policies.ts, where the unit tests run them.
 */
import { PolicyPack } from "@pulumi/policy";
import { keepSecretMarks } from "./analyzerInputs";
import { policies } from "./policies";

keepSecretMarks();

new PolicyPack("ai-gateway", { policies });
