/**
 * Which IP addresses a webhook may not reach (spec 12): everything that is not a public
 * unicast address — private, loopback, link-local, unique-local, CGNAT, multicast,
 * unspecified, documentation and reserved ranges, and IPv6 forms that embed such an IPv4
 * address (mapped, NAT64, 6to4). Pure: parsing and range checks only.
 */

/** Why an address is refused, or null for a public address. */
export type AddressClass =
  | "loopback"
  | "private"
  | "link-local"
  | "unique-local"
  | "cgnat"
  | "multicast"
  | "unspecified"
  | "reserved"
  | null;

type Range4 = [first: number, bits: number, kind: Exclude<AddressClass, null>];

const V4_RANGES: Range4[] = [
  [v4(0, 0, 0, 0), 8, "unspecified"],
  [v4(10, 0, 0, 0), 8, "private"],
  [v4(100, 64, 0, 0), 10, "cgnat"],
  [v4(127, 0, 0, 0), 8, "loopback"],
  [v4(169, 254, 0, 0), 16, "link-local"],
  [v4(172, 16, 0, 0), 12, "private"],
  [v4(192, 0, 0, 0), 24, "reserved"],
  [v4(192, 0, 2, 0), 24, "reserved"],
  [v4(192, 88, 99, 0), 24, "reserved"],
  [v4(192, 168, 0, 0), 16, "private"],
  [v4(198, 18, 0, 0), 15, "reserved"],
  [v4(198, 51, 100, 0), 24, "reserved"],
  [v4(203, 0, 113, 0), 24, "reserved"],
  [v4(224, 0, 0, 0), 4, "multicast"],
  [v4(240, 0, 0, 0), 4, "reserved"],
];

function v4(a: number, b: number, c: number, d: number): number {
  return ((a << 24) >>> 0) + (b << 16) + (c << 8) + d;
}

/** The 32-bit value of a dotted quad, or null when `text` is not one. */
export function parseIPv4(text: string): number | null {
  const parts = text.split(".");
  if (parts.length !== 4 || parts.some((p) => !/^(0|[1-9]\d{0,2})$/.test(p))) return null;
  const bytes = parts.map(Number);
  if (bytes.some((b) => b > 255)) return null;
  return v4(bytes[0], bytes[1], bytes[2], bytes[3]);
}

/** The eight 16-bit groups of an IPv6 address (`::`, embedded dotted quad), or null. */
export function parseIPv6(text: string): number[] | null {
  const address = text.replace(/^\[|\]$/g, "").replace(/%.*$/, "");
  const halves = address.split("::");
  if (halves.length > 2) return null;
  const groups = (half: string): number[] | null => {
    if (half === "") return [];
    const out: number[] = [];
    const parts = half.split(":");
    for (const [i, part] of parts.entries()) {
      const quad = i === parts.length - 1 && part.includes(".") ? parseIPv4(part) : null;
      if (quad !== null) out.push(quad >>> 16, quad & 0xffff);
      else if (/^[0-9a-f]{1,4}$/i.test(part)) out.push(parseInt(part, 16));
      else return null;
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (head === null || tail === null) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  return [...head, ...new Array(missing).fill(0), ...tail];
}

export function classifyIPv4(value: number): AddressClass {
  for (const [first, bits, kind] of V4_RANGES) {
    const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
    if (((value & mask) >>> 0) === first) return kind;
  }
  if (value === 0xffffffff) return "reserved";
  return null;
}

export function classifyIPv6(g: number[]): AddressClass {
  const embedded = (hi: number, lo: number) => classifyIPv4(((hi << 16) >>> 0) + lo);
  if (g.every((x) => x === 0)) return "unspecified";
  if (g.slice(0, 7).every((x) => x === 0) && g[7] === 1) return "loopback";
  // ::ffff:a.b.c.d (mapped) and 64:ff9b::a.b.c.d (NAT64) reach the IPv4 address they embed.
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) return embedded(g[6], g[7]);
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) {
    return embedded(g[6], g[7]);
  }
  // 6to4 (2002:V4ADDR::/48) tunnels to the IPv4 address in groups 1–2.
  if (g[0] === 0x2002) return embedded(g[1], g[2]);
  // The rest of ::/8 (IPv4-compatible, discard-only 100::/64 is under 0100::) is not public.
  if (g[0] < 0x0100 || (g[0] === 0x0100 && g.slice(1, 4).every((x) => x === 0))) {
    return "reserved";
  }
  if ((g[0] & 0xffc0) === 0xfe80) return "link-local";
  if ((g[0] & 0xffc0) === 0xfec0) return "unique-local"; // deprecated site-local
  if ((g[0] & 0xfe00) === 0xfc00) return "unique-local";
  if ((g[0] & 0xff00) === 0xff00) return "multicast";
  if (g[0] === 0x2001 && g[1] === 0x0db8) return "reserved"; // documentation
  return null;
}

/**
 * The class of an IP address literal (IPv4 dotted quad, or IPv6 with or without brackets);
 * undefined when `text` is not an IP address at all.
 */
export function classifyAddress(text: string): AddressClass | undefined {
  const four = parseIPv4(text);
  if (four !== null) return classifyIPv4(four);
  const six = text.includes(":") ? parseIPv6(text) : null;
  if (six !== null) return classifyIPv6(six);
  return undefined;
}
