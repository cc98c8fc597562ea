/**
 * One WGSL kernel as the launch path sees it. The backend chooses the variant for a spec once per launch and
 * gets back one object: its pipeline-cache key and name (both known without rendering anything), whether there
 * is anything to launch, and the three things that depend on the variant — the module, the params values and
 * the grid — as its methods, so no caller switches on the variant again.
 */
import type { ParamsLayout } from './params.js';

/** A complete WGSL module for one kernel, with the layout of its params uniform. */
export interface RenderedKernel {
  readonly name: string;
  readonly source: string;
  readonly params: ParamsLayout;
  /** Storage bindings (inputs, then the output); the params uniform follows them. */
  readonly storageBindings: number;
  /** The storage bindings the kernel writes; absent: the last one (the output) only. */
  readonly writable?: readonly number[];
}

export interface KernelVariant {
  /** The pipeline-cache key: one compiled pipeline per key. */
  readonly key: string;
  /** The WGSL function's name, shown in errors and profiles (derived from the key). */
  readonly name: string;
  /** No output elements: nothing to launch. */
  readonly empty: boolean;
  /** GEMMs only: workgroups per tile of C along K (more than 1: a workspace and a second pass). Else 1. */
  readonly splitK: number;
  /** The module; called on a pipeline-cache miss only. */
  render(): RenderedKernel;
  /** This launch's params values, by field name. */
  params(): Map<string, number>;
  /** Workgroups to dispatch. */
  grid(): [number, number, number];
}
