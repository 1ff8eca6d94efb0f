import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Store } from "../../../src/store/store.js";
import { Hop3Error } from "../../../src/util/errors.js";
import { useTempDirs } from "./temp-dir.js";

const tempDir = useTempDirs();

function openStore() {
  const dir = tempDir();
  const dbPath = join(dir, "hop3.db");
  return { store: Store.open(dbPath, join(dir, "store.key")), dbPath };
}

const addon = {
  name: "shop-db",
  type: "postgres",
  major: "15",
  image: "localhost/hop3/addon-postgres:15-abc",
  credentials: { user: "shop_db", password: "Secret0123456789Secret0123456789", database: "shop_db" },
  options: {},
};

function kindOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(Hop3Error);
    return (err as Hop3Error).kind;
  }
  throw new Error("expected a Hop3Error");
}

describe("addon store", () => {
  it("records addons with their major version and seals their credentials", () => {
    const { store, dbPath } = openStore();
    const row = store.addons.create(addon);
    expect(row).toMatchObject({
      name: "shop-db",
      type: "postgres",
      major: "15",
      credentials: addon.credentials,
    });
    expect(kindOf(() => store.addons.create(addon))).toBe("conflict");
    expect(kindOf(() => store.addons.require("nope"))).toBe("notFound");
    store.close();
    // WAL and main file: the password never reaches the disk in clear
    const bytes = [dbPath, `${dbPath}-wal`].map((p) => {
      try {
        return readFileSync(p).toString("latin1");
      } catch {
        return "";
      }
    });
    expect(bytes.join("")).not.toContain(addon.credentials.password);
  });

  it("attaches with a prefix chosen in the transaction, and refuses twice the same", () => {
    const { store } = openStore();
    store.createApp("shop");
    store.addons.create(addon);
    store.addons.create({ ...addon, name: "other-db" });
    expect(store.addons.attach("shop-db", "shop", () => "").prefix).toBe("");
    expect(kindOf(() => store.addons.attach("shop-db", "shop", () => ""))).toBe("conflict");
    const second = store.addons.attach("other-db", "shop", (existing) => (existing.length ? "OTHER_DB" : ""));
    expect(second.prefix).toBe("OTHER_DB");
    expect(store.addons.attachmentsTo("shop").map((a) => a.addon)).toEqual(["other-db", "shop-db"]);
    expect(store.addons.attachmentsOf("shop-db").map((a) => a.app)).toEqual(["shop"]);
  });

  it("never deletes an attached addon; an app's attachments go with the app", () => {
    const { store } = openStore();
    store.createApp("shop");
    store.addons.create(addon);
    store.addons.attach("shop-db", "shop", () => "");
    expect(kindOf(() => store.addons.delete("shop-db"))).toBe("conflict");
    store.deleteApp("shop");
    expect(store.addons.attachmentsOf("shop-db")).toEqual([]);
    store.addons.delete("shop-db");
    expect(store.addons.get("shop-db")).toBeUndefined();
  });

  it("detaches only what is attached", () => {
    const { store } = openStore();
    store.createApp("shop");
    store.addons.create(addon);
    expect(kindOf(() => store.addons.detach("shop-db", "shop"))).toBe("notFound");
    store.addons.attach("shop-db", "shop", () => "");
    store.addons.detach("shop-db", "shop");
    expect(store.addons.attachmentsTo("shop")).toEqual([]);
  });
});
