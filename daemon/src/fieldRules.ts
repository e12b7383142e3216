// What a well-formed value of each caller-supplied field looks like, defined once and read by both
// berthd's edge (grpc/requestRules.ts) and the CNI plugin (cni-shim), so the plugin refuses with
// the same words what berthd would refuse. Each rule returns the problem, or undefined when the
// value is fine; the caller prefixes the field name it knows the value by. Pure: no I/O.

export const MAX_CONTAINER_ID_LENGTH = 256;
export const MAX_IFNAME_LENGTH = 15; // IFNAMSIZ - 1
export const MAX_PATH_LENGTH = 1024;
export const MAX_LABELS = 64;
export const MAX_LIST_ENTRIES = 64;

// Character loops, not regular expressions: the CNI plugin checks these fields in a process that
// lives for one call, and each RegExp JavaScriptCore compiles there costs ~0.3 MB of peak memory
// (the first ~1 MB). fieldRules.test.ts holds every rule to the regular expression it replaces.

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isLowerAlnum = (c: number): boolean => isDigit(c) || (c >= 0x61 && c <= 0x7a);
const isAlnum = (c: number): boolean => isLowerAlnum(c) || (c >= 0x41 && c <= 0x5a);
/** "-", "." or "_". */
const isDashDotUnderscore = (c: number): boolean => c === 0x2d || c === 0x2e || c === 0x5f;
const isNameChar = (c: number): boolean => isAlnum(c) || isDashDotUnderscore(c);
const isPoolChar = (c: number): boolean => isLowerAlnum(c) || isDashDotUnderscore(c);
const isDnsChar = (c: number): boolean => isLowerAlnum(c) || c === 0x2d;

/** `text` (non-empty) begins and ends with an `edge` character and holds only `inner` ones between. */
function edgesAndInner(text: string, edge: (c: number) => boolean, inner: (c: number) => boolean): boolean {
  const last = text.length - 1;
  if (last < 0 || !edge(text.charCodeAt(0)) || !edge(text.charCodeAt(last))) return false;
  for (let i = 1; i < last; i++) if (!inner(text.charCodeAt(i))) return false;
  return true;
}

/** `text` (non-empty) begins with a letter or digit, then letters, digits, "_", "." or "-". */
function isIdentifier(text: string): boolean {
  if (text.length === 0 || !isAlnum(text.charCodeAt(0))) return false;
  for (let i = 1; i < text.length; i++) if (!isNameChar(text.charCodeAt(i))) return false;
  return true;
}

export const isContainerId = isIdentifier;
/** CNI SPEC "name": an alphanumeric, then alphanumerics, "_", "." or "-". */
export const isNetworkName = isIdentifier;
export const isPoolName = (text: string): boolean => text.length <= 63 && edgesAndInner(text, isLowerAlnum, isPoolChar);
export const isDnsLabel = (text: string): boolean => text.length <= 63 && edgesAndInner(text, isLowerAlnum, isDnsChar);
export const isDnsSubdomain = (text: string): boolean =>
  text.length >= 1 && text.length <= 253 && text.split('.').every((label) => edgesAndInner(label, isLowerAlnum, isDnsChar));
export const isLabelName = (text: string): boolean => text.length <= 63 && edgesAndInner(text, isAlnum, isNameChar);
export const isLabelValue = (text: string): boolean => text.length === 0 || isLabelName(text);
export const isPodUid = (text: string): boolean => text.length <= 128 && isIdentifier(text);

/** Printable ASCII without space: what an interface name may hold (the kernel also refuses "/" and ":"). */
export function isVisibleAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

/** C0 and C1 control characters and DEL. */
export function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c <= 0x1f || (c >= 0x7f && c <= 0x9f)) return true;
  }
  return false;
}

const isHighSurrogate = (c: number): boolean => c >= 0xd800 && c <= 0xdbff;
const isLowSurrogate = (c: number): boolean => c >= 0xdc00 && c <= 0xdfff;

/** The text with lone surrogates replaced by U+FFFD: it can then be encoded as UTF-8 (and encodeURI does not throw). */
export function wellFormed(text: string): string {
  let out = '';
  let copied = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (isHighSurrogate(c) && i + 1 < text.length && isLowSurrogate(text.charCodeAt(i + 1))) {
      i++;
    } else if (isHighSurrogate(c) || isLowSurrogate(c)) {
      out += `${text.slice(copied, i)}\uFFFD`;
      copied = i + 1;
    }
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/** A value as an error message shows it: JSON-quoted and cut, so a huge or binary value stays readable. */
export function showValue(value: string): string {
  const cut = value.length > 80 ? `${value.slice(0, 80)}…` : value;
  return JSON.stringify(wellFormed(cut));
}

export function containerIdProblem(value: string): string | undefined {
  if (value.length === 0) return 'is required';
  if (value.length > MAX_CONTAINER_ID_LENGTH) return `is longer than ${MAX_CONTAINER_ID_LENGTH} characters`;
  if (!isContainerId(value)) return `${showValue(value)} may hold only letters, digits, "_", "." and "-" and must start with a letter or digit`;
  return undefined;
}

export function ifnameProblem(value: string): string | undefined {
  if (value.length === 0) return 'is required';
  if (value.length > MAX_IFNAME_LENGTH) return `${showValue(value)} is longer than ${MAX_IFNAME_LENGTH} characters`;
  if (value === '.' || value === '..' || value.includes('/') || value.includes(':') || !isVisibleAscii(value)) {
    return `${showValue(value)} is not a valid interface name: printable ASCII without "/", ":" or whitespace, not "." or ".."`;
  }
  return undefined;
}

export function poolNameProblem(value: string): string | undefined {
  if (value.length === 0) return 'is empty';
  if (!isPoolName(value)) return `${showValue(value)} is not a valid pool name: 1 to 63 lowercase letters, digits, ".", "_" or "-", starting and ending with a letter or digit`;
  return undefined;
}

/** The CNI network name (the config's `name`); empty is allowed where the field is optional. */
export function networkNameProblem(value: string): string | undefined {
  if (value.length === 0) return undefined;
  if (value.length > MAX_CONTAINER_ID_LENGTH) return `is longer than ${MAX_CONTAINER_ID_LENGTH} characters`;
  if (!isNetworkName(value)) return `${showValue(value)} is not a valid network name: letters, digits, "_", "." and "-", starting with a letter or digit`;
  return undefined;
}

/** An address space name as pools use it (config `addressSpace`); empty: any. */
export function addressSpaceProblem(value: string): string | undefined {
  if (value.length === 0) return undefined;
  if (!isPoolName(value)) return `${showValue(value)} is not a valid address space name: 1 to 63 lowercase letters, digits, ".", "_" or "-"`;
  return undefined;
}

/** Kubernetes namespace (RFC 1123 label); empty: not a pod. */
export function podNamespaceProblem(value: string): string | undefined {
  if (value.length === 0) return undefined;
  if (!isDnsLabel(value)) return `${showValue(value)} is not a Kubernetes namespace: 1 to 63 lowercase letters, digits or "-", starting and ending with a letter or digit`;
  return undefined;
}

/** Kubernetes object name (RFC 1123 subdomain); empty: not a pod. */
export function podNameProblem(value: string): string | undefined {
  if (value.length === 0) return undefined;
  if (value.length > 253) return 'is longer than 253 characters';
  if (!isDnsSubdomain(value)) return `${showValue(value)} is not a Kubernetes pod name: lowercase letters, digits, "-" and ".", starting and ending with a letter or digit`;
  return undefined;
}

export function podUidProblem(value: string): string | undefined {
  if (value.length === 0) return undefined;
  if (!isPodUid(value)) return `${showValue(value)} is not a pod UID: up to 128 letters, digits, "_", "." or "-"`;
  return undefined;
}

/** A network namespace path: absolute, bounded, no control characters, well-formed text. */
export function netnsProblem(value: string): string | undefined {
  if (value.length === 0) return undefined;
  if (value.length > MAX_PATH_LENGTH) return `is longer than ${MAX_PATH_LENGTH} characters`;
  if (!value.startsWith('/')) return `${showValue(value)} is not an absolute path`;
  if (hasControl(value) || wellFormed(value) !== value) return `${showValue(value)} holds control characters or malformed text`;
  return undefined;
}

/** Kubernetes label key: an optional DNS-subdomain prefix and "/", then a name of up to 63 characters. */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (isLabelName(name) && (prefix === undefined || isDnsSubdomain(prefix))) return undefined;
  return `${showValue(key)} is not a valid label name: [prefix/]name, the name up to 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit, the prefix a DNS subdomain`;
}

export function labelValueProblem(value: string): string | undefined {
  if (isLabelValue(value)) return undefined;
  return `${showValue(value)} is not a valid label value: up to 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit`;
}

/** Every problem of a label map, each with its path under `field`. */
export function labelProblems(labels: Readonly<Record<string, string>>, field: string): string[] {
  const entries = Object.entries(labels);
  if (entries.length > MAX_LABELS) return [`${field}: has ${entries.length} labels; at most ${MAX_LABELS}`];
  const problems: string[] = [];
  for (const [key, value] of entries) {
    const keyProblem = labelKeyProblem(key);
    if (keyProblem !== undefined) problems.push(`${field}: ${keyProblem}`);
    else if (typeof value !== 'string') problems.push(`${field}.${key}: must be a string`);
    else {
      const valueProblem = labelValueProblem(value);
      if (valueProblem !== undefined) problems.push(`${field}.${key}: ${valueProblem}`);
    }
  }
  return problems;
}

/** An address as text before it is parsed: bounded and visible, so the parse error can quote it. */
export function addressTextProblem(value: string): string | undefined {
  if (value.length === 0) return 'is empty';
  if (value.length > 64 || !isVisibleAscii(value)) return `${showValue(value)} is not an IP address`;
  return undefined;
}
