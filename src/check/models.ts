/** The models by name, for the CLI and for workers (which receive a model's name, not the model). */
import { kvModel } from "./kv_model.ts";
import { kvWholeModel } from "./kv_whole_model.ts";
import type { Model } from "./model.ts";
import { registerModel } from "./register_model.ts";

export const MODELS: Record<string, Model> = {
  kv: kvModel,
  register: registerModel,
  "kv-whole": kvWholeModel,
};

export function modelByName(name: string): Model {
  const model = MODELS[name];
  if (!model) throw new Error(`unknown model "${name}": use one of ${Object.keys(MODELS).join(", ")}`);
  return model;
}
