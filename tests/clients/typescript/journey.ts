// The citizen journey through openapi-fetch on the types generated from openapi.yaml, run with
// node against the running app. It prints what each exchange cost as JSON on stdout.
// Environment: BASE_URL (the app), SMS_OUTBOX_FILE (where the SMS "arrives"), SAMPLE (a JPEG).
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema.js";

type Exchange = {
  method: string;
  path: string;
  status: number;
  content_type: string;
  body_bytes: number;
  wire_bytes: number;
  head_bytes: number;
};

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

function lastCode(outbox: string, phone: string): string {
  const lines = readFileSync(outbox, "utf-8").split("\n").filter(Boolean);
  for (const line of lines.reverse()) {
    const sms = JSON.parse(line) as { to: string; text: string };
    const code = sms.to === phone ? /\b(\d{6})\b/.exec(sms.text)?.[1] : undefined;
    if (code) return code;
  }
  throw new Error(`no code was sent to ${phone}`);
}

function expect<T>(result: { data?: T; error?: unknown; response: Response }, status: number): T {
  const { data, error, response } = result;
  if (response.status !== status || data === undefined) {
    throw new Error(`${response.url}: ${response.status} ${JSON.stringify(error)}`);
  }
  return data;
}

const exchanges: Exchange[] = [];
const measuring: Middleware = {
  async onResponse({ request, response }) {
    const body = new Uint8Array(await response.clone().arrayBuffer());
    const statusLine = `HTTP/1.1 ${response.status} ${response.statusText}`;
    let head = Buffer.byteLength(statusLine) + 2 + 2;
    response.headers.forEach((value, name) => {
      head += Buffer.byteLength(name) + 2 + Buffer.byteLength(value) + 2;
    });
    exchanges.push({
      method: request.method,
      path: new URL(request.url).pathname,
      status: response.status,
      content_type: response.headers.get("content-type") ?? "",
      body_bytes: body.length,
      wire_bytes: Number(response.headers.get("content-length") ?? body.length),
      head_bytes: head,
    });
    return undefined;
  },
};

const api = createClient<paths>({ baseUrl: env("BASE_URL") });
api.use(measuring);

const device: components["schemas"]["Device"] = {
  name: "Điện thoại của Lan",
  platform: "android",
  app_version: "1.0.0",
};
const data: NonNullable<components["schemas"]["DossierCreate"]["data"]> = {
  child_full_name: "Nguyễn Minh An",
  child_date_of_birth: "2026-11-20",
  child_sex: "nam",
  place_of_birth: "Bệnh viện Bãi Cháy",
  mother_full_name: "Trần Thị Lan",
  mother_national_id: "022199001234",
  relationship: "me",
  requester_full_name: "Trần Thị Lan",
  requester_national_id: "022199001234",
};

const sent = expect(await api.POST("/api/v1/auth/otp", { body: { phone: "0912345678" } }), 202);
const code = lastCode(env("SMS_OUTBOX_FILE"), "+84912345678");
const tokens = expect(
  await api.POST("/api/v1/auth/otp/verify", {
    body: { challenge_id: sent.challenge_id, code, device },
  }),
  200,
);

const found = expect(
  await api.GET("/api/v1/procedures", { params: { query: { q: "khai sinh" } } }),
  200,
);
if (!found.items.some((item) => item.code === "1.001193")) throw new Error("not found");
const procedure = expect(
  await api.GET("/api/v1/procedures/{code}", { params: { path: { code: "1.001193" } } }),
  200,
);
if (!procedure.documents.some((slot) => slot.code === "giay_chung_sinh")) {
  throw new Error("no birth certificate slot");
}

const signedIn = { Authorization: `Bearer ${tokens.access_token}` };
const created = await api.POST("/api/v1/dossiers", {
  headers: signedIn,
  body: { procedure_code: "1.001193", data },
});
const draft = expect(created, 201);
if (!created.response.headers.get("etag") || !created.response.headers.get("location")) {
  throw new Error("the draft came without ETag or Location");
}

const sample = env("SAMPLE");
const jpeg = new Blob([readFileSync(sample)], { type: "image/jpeg" });
const attached = expect(
  await api.POST("/api/v1/dossiers/{dossier_id}/attachments/{slot}", {
    headers: signedIn,
    params: { path: { dossier_id: draft.id, slot: "giay_chung_sinh" } },
    body: { file: jpeg },
    bodySerializer(body) {
      const form = new FormData();
      form.append("file", body.file, basename(sample));
      return form;
    },
  }),
  201,
);
if (attached.slot !== "giay_chung_sinh") throw new Error("attached elsewhere");

const receipt = expect(
  await api.POST("/api/v1/dossiers/{dossier_id}/submit", {
    headers: signedIn,
    params: { path: { dossier_id: draft.id }, header: { "Idempotency-Key": randomUUID() } },
  }),
  200,
);
const mine = expect(await api.GET("/api/v1/dossiers", { headers: signedIn }), 200);
if (mine.items.map((item) => item.code).join() !== receipt.code) throw new Error("not mine");

const path = { dossier_id: draft.id };
const opened = await api.GET("/api/v1/dossiers/{dossier_id}", {
  headers: signedIn,
  params: { path },
});
const detail = expect(opened, 200);
if (detail.status !== "submitted") throw new Error(`status ${detail.status}`);
const etag = opened.response.headers.get("etag");
if (!etag) throw new Error("the detail came without ETag");
const polled = await api.GET("/api/v1/dossiers/{dossier_id}", {
  headers: signedIn,
  params: { path, header: { "If-None-Match": etag } },
});
if (polled.response.status !== 304) throw new Error(`poll answered ${polled.response.status}`);

process.stdout.write(JSON.stringify(exchanges));
