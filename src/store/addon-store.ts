/**
 * The addons' records: name, type, major version, image and sealed credentials, and which apps they are
 * attached to (with the prefix of their variables). Part of the Store (store.ts `addons`), on its database.
 */
import type BetterSqlite3 from "better-sqlite3";
import { conflict, notFound } from "../util/errors.js";
import { open, seal } from "./secret-box.js";

export interface AddonRow {
  name: string;
  type: string;
  /** The major version it was created with; an upgrade of Hop3 never changes it. */
  major: string;
  /** The image it runs (kept, so a new Hop3 image never replaces a running database's silently). */
  image: string;
  credentials: Record<string, string>;
  /** extensions: enabled Postgres extensions; exposePort: `addons:expose`, published on 127.0.0.1 only. */
  options: { extensions?: string[]; exposePort?: number };
  createdAt: string;
}

export interface AttachmentRow {
  addon: string;
  app: string;
  prefix: string;
  createdAt: string;
}

interface AddonDbRow {
  name: string;
  type: string;
  major: string;
  image: string;
  credentials: string;
  options: string;
  created_at: string;
}

// bound to the addon's name: a sealed value copied onto another row does not open
const credentialsContext = (name: string) => `addons.credentials\0${name}`;

export class AddonStore {
  constructor(
    private readonly db: BetterSqlite3.Database,
    private readonly key: Buffer,
  ) {}

  create(row: Omit<AddonRow, "createdAt">): AddonRow {
    const result = this.db
      .prepare(
        `INSERT INTO addons (name, type, major, image, credentials, options, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING`,
      )
      .run(
        row.name,
        row.type,
        row.major,
        row.image,
        seal(this.key, JSON.stringify(row.credentials), credentialsContext(row.name)),
        JSON.stringify(row.options),
        new Date().toISOString(),
      );
    if (result.changes === 0) throw conflict(`an addon named ${row.name} already exists`);
    return this.require(row.name);
  }

  get(name: string): AddonRow | undefined {
    const row = this.db.prepare("SELECT * FROM addons WHERE name = ?").get(name) as AddonDbRow | undefined;
    return row && this.toRow(row);
  }

  require(name: string): AddonRow {
    const addon = this.get(name);
    if (!addon) throw notFound(`addon ${name} does not exist`, "list addons with: hop addons");
    return addon;
  }

  list(): AddonRow[] {
    return (this.db.prepare("SELECT * FROM addons ORDER BY name").all() as AddonDbRow[]).map((r) =>
      this.toRow(r),
    );
  }

  setImage(name: string, image: string): void {
    this.db.prepare("UPDATE addons SET image = ? WHERE name = ?").run(image, name);
  }

  setOptions(name: string, options: AddonRow["options"]): void {
    this.db.prepare("UPDATE addons SET options = ? WHERE name = ?").run(JSON.stringify(options), name);
  }

  /** Deletes the record; refused (by the schema too) while an app is attached. */
  delete(name: string): void {
    this.db.transaction(() => {
      const apps = this.attachmentsOf(name).map((a) => a.app);
      if (apps.length > 0) throw conflict(`addon ${name} is attached to ${apps.join(", ")}`);
      const result = this.db.prepare("DELETE FROM addons WHERE name = ?").run(name);
      if (result.changes === 0) throw notFound(`addon ${name} does not exist`);
    })();
  }

  /** Records an attachment; `prefix` is chosen by `choose` inside the same transaction as the checks. */
  attach(addon: string, app: string, choose: (existing: AttachmentRow[]) => string): AttachmentRow {
    return this.db.transaction(() => {
      this.require(addon);
      const existing = this.attachmentsTo(app);
      const same = existing.find((a) => a.addon === addon);
      if (same) throw conflict(`addon ${addon} is already attached to ${app}`);
      const prefix = choose(existing);
      this.db
        .prepare("INSERT INTO addon_attachments (addon, app, prefix, created_at) VALUES (?, ?, ?, ?)")
        .run(addon, app, prefix, new Date().toISOString());
      return this.attachmentsTo(app).find((a) => a.addon === addon)!;
    })();
  }

  detach(addon: string, app: string): void {
    const result = this.db
      .prepare("DELETE FROM addon_attachments WHERE addon = ? AND app = ?")
      .run(addon, app);
    if (result.changes === 0) throw notFound(`addon ${addon} is not attached to ${app}`);
  }

  /** The app's attachments, by addon name. */
  attachmentsTo(app: string): AttachmentRow[] {
    return (
      this.db.prepare("SELECT * FROM addon_attachments WHERE app = ? ORDER BY addon").all(app) as {
        addon: string;
        app: string;
        prefix: string;
        created_at: string;
      }[]
    ).map(toAttachment);
  }

  /** The apps an addon is attached to, by app name. */
  attachmentsOf(addon: string): AttachmentRow[] {
    return (
      this.db.prepare("SELECT * FROM addon_attachments WHERE addon = ? ORDER BY app").all(addon) as {
        addon: string;
        app: string;
        prefix: string;
        created_at: string;
      }[]
    ).map(toAttachment);
  }

  private toRow(row: AddonDbRow): AddonRow {
    return {
      name: row.name,
      type: row.type,
      major: row.major,
      image: row.image,
      credentials: JSON.parse(open(this.key, row.credentials, credentialsContext(row.name))) as Record<
        string,
        string
      >,
      options: JSON.parse(row.options) as AddonRow["options"],
      createdAt: row.created_at,
    };
  }
}

function toAttachment(r: { addon: string; app: string; prefix: string; created_at: string }): AttachmentRow {
  return { addon: r.addon, app: r.app, prefix: r.prefix, createdAt: r.created_at };
}
