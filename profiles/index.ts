export * from "./profiles";
export * from "./budgets";
