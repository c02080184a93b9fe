/** Webhook URL rules (url_rules.ts, ip_ranges.ts) with an injected resolver: no real DNS. */
import assert from "node:assert/strict";
import { classifyAddress } from "../../supabase/functions/_shared/webhooks/ip_ranges.ts";
import {
  checkWebhookUrl,
  type Resolver,
} from "../../supabase/functions/_shared/webhooks/url_rules.ts";

/** A resolver answering from a table; unknown names have no records. */
function table(records: Record<string, { A?: string[]; AAAA?: string[] }>): Resolver {
  return (host, type) => Promise.resolve(records[host]?.[type] ?? []);
}

const PUBLIC = table({ "hooks.example.com": { A: ["93.184.216.34"], AAAA: ["2606:2800::1"] } });

Deno.test("addresses webhooks may not reach, by class", () => {
  const cases: [string, ReturnType<typeof classifyAddress>][] = [
    ["127.0.0.1", "loopback"],
    ["127.255.0.9", "loopback"],
    ["10.1.2.3", "private"],
    ["172.16.0.1", "private"],
    ["172.31.255.255", "private"],
    ["192.168.1.1", "private"],
    ["169.254.169.254", "link-local"],
    ["100.64.0.1", "cgnat"],
    ["100.127.255.255", "cgnat"],
    ["0.0.0.0", "unspecified"],
    ["224.0.0.1", "multicast"],
    ["255.255.255.255", "reserved"],
    ["198.18.0.1", "reserved"],
    ["::", "unspecified"],
    ["::1", "loopback"],
    ["[::1]", "loopback"],
    ["fe80::1", "link-local"],
    ["fd12:3456::1", "unique-local"],
    ["fc00::1", "unique-local"],
    ["ff02::1", "multicast"],
    ["::ffff:7f00:1", "loopback"],
    ["::ffff:10.0.0.1", "private"],
    ["64:ff9b::a9fe:a9fe", "link-local"],
    ["2002:c0a8:0101::1", "private"],
    ["2001:db8::1", "reserved"],
    ["::7f00:1", "reserved"],
    // Public unicast.
    ["8.8.8.8", null],
    ["172.32.0.1", null],
    ["100.128.0.1", null],
    ["2606:4700::1111", null],
    ["::ffff:8.8.8.8", null],
  ];
  for (const [address, expected] of cases) {
    assert.equal(classifyAddress(address), expected, address);
  }
  for (const notAnAddress of ["example.com", "1.2.3", "1.2.3.256", "01.2.3.4", "1::2::3", "g::1"]) {
    assert.equal(classifyAddress(notAnAddress), undefined, notAnAddress);
  }
});

Deno.test("outside the local stack: https to public addresses only", async () => {
  const options = { local: false, resolve: PUBLIC };
  assert.equal((await checkWebhookUrl("https://hooks.example.com/in", options)).ok, true);
  assert.equal((await checkWebhookUrl("https://8.8.8.8/in", options)).ok, true);
  const refusals: [string, RegExp][] = [
    ["http://hooks.example.com/in", /must be https/],
    ["ftp://hooks.example.com/in", /must be https/],
    ["/relative", /not an absolute URL/],
    ["https://user:pw@hooks.example.com/in", /credentials/],
    ["https://127.0.0.1/in", /loopback/],
    ["https://[::1]/in", /loopback/],
    ["https://localhost/in", /loopback/],
    ["https://api.localhost/in", /loopback/],
    ["https://10.0.0.1/in", /private/],
    ["https://169.254.169.254/latest/meta-data", /link-local/],
    ["https://[fd00::1]/in", /unique-local/],
    ["https://[::ffff:192.168.0.1]/in", /private/],
    // The URL parser normalises these IPv4 spellings to 127.0.0.1 first.
    ["https://0x7f.0.0.1/in", /loopback/],
    ["https://2130706433/in", /loopback/],
    ["https://nowhere.example/in", /does not resolve/],
  ];
  for (const [url, reason] of refusals) {
    const verdict = await checkWebhookUrl(url, options);
    assert.equal(verdict.ok, false, url);
    if (!verdict.ok) assert.match(verdict.reason, reason, url);
  }
});

Deno.test("a name with any private record is refused; a failing resolver refuses", async () => {
  const mixed = table({ "mixed.example.com": { A: ["93.184.216.34"], AAAA: ["fd00::5"] } });
  const verdict = await checkWebhookUrl("https://mixed.example.com/", {
    local: false,
    resolve: mixed,
  });
  assert.equal(verdict.ok, false);
  const broken: Resolver = () => Promise.reject(new Error("SERVFAIL"));
  const failed = await checkWebhookUrl("https://hooks.example.com/", {
    local: false,
    resolve: broken,
  });
  assert.deepEqual(failed, { ok: false, reason: "The webhook host could not be resolved." });
});

Deno.test("rebinding: the same name is refused once it resolves to a private address", async () => {
  let answer = "93.184.216.34";
  const rebinding: Resolver = (_host, type) => Promise.resolve(type === "A" ? [answer] : []);
  const options = { local: false, resolve: rebinding };
  assert.equal((await checkWebhookUrl("https://rebind.example.com/", options)).ok, true);
  answer = "127.0.0.1";
  assert.equal((await checkWebhookUrl("https://rebind.example.com/", options)).ok, false);
});

Deno.test("the local stack also allows http and loopback, nothing else private", async () => {
  const options = { local: true, resolve: PUBLIC };
  for (const url of ["http://127.0.0.1:8080/in", "http://localhost:1/in", "http://[::1]:9/in"]) {
    assert.equal((await checkWebhookUrl(url, options)).ok, true, url);
  }
  for (const url of ["http://10.0.0.1/in", "http://169.254.169.254/", "ftp://127.0.0.1/"]) {
    assert.equal((await checkWebhookUrl(url, options)).ok, false, url);
  }
});
