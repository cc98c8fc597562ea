/**
 * The params uniform: every size, stride and offset a kernel reads, as named i32 fields, so one compiled
 * pipeline serves every shape with the same spec key. A renderer declares the fields once (in order); the
 * same declaration renders the WGSL struct and packs the values for a launch.
 */

export class ParamsLayout {
  private readonly fields: string[] = [];
  private readonly docs = new Map<string, string>();

  /** Declares a field; `doc` becomes a trailing comment in the struct. Returns the WGSL expression reading it. */
  field(name: string, doc?: string): string {
    if (this.fields.includes(name)) throw new Error(`params field '${name}' declared twice`);
    this.fields.push(name);
    if (doc !== undefined) this.docs.set(name, doc);
    return `params.${name}`;
  }

  get size(): number {
    return this.fields.length;
  }

  /** `struct Params { ... }` and its uniform binding. */
  render(binding: number): string {
    const width = Math.max(...this.fields.map((f) => f.length));
    const lines = this.fields.map((f) => {
      const doc = this.docs.get(f);
      return `  ${f}: i32,${doc !== undefined ? ' '.repeat(width - f.length + 1) + '// ' + doc : ''}`;
    });
    return `struct Params {\n${lines.join('\n')}\n}\n@group(0) @binding(${binding}) var<uniform> params: Params;`;
  }

  /** Packs named values into the uniform's bytes (padded to 16 bytes). Every declared field must be given. */
  pack(values: ReadonlyMap<string, number>): Int32Array {
    const out = new Int32Array(Math.max(4, Math.ceil(this.fields.length / 4) * 4));
    this.fields.forEach((f, i) => {
      const v = values.get(f);
      if (v === undefined) throw new Error(`params field '${f}' has no value`);
      out[i] = v;
    });
    return out;
  }
}
