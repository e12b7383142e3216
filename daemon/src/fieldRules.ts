// What a well-formed value of each caller-supplied field looks like, defined once and read by both
// berthd's edge (grpc/requestRules.ts) and the CNI plugin (cni-shim), so the plugin refuses with
// the same words what berthd would refuse. Each rule returns the problem, or undefined when the
// value is fine; the caller prefixes the field name it knows the value by. Pure: no I/O.

export const MAX_CONTAINER_ID_LENGTH = 256;
export const MAX_IFNAME_LENGTH = 15; // IFNAMSIZ - 1
export const MAX_PATH_LENGTH = 1024;
export const MAX_LABELS = 64;
export const MAX_LIST_ENTRIES = 64;

const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const POOL_NAME = /^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$/;
/** CNI SPEC "name": an alphanumeric, then alphanumerics, "_", "." or "-". */
const NETWORK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_NAME = /^(?=.{1,63}$)[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(?=.{0,63}$)([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;
const POD_UID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
/** Printable ASCII without space: what an interface name may hold (the kernel also refuses "/" and ":"). */
const VISIBLE_ASCII = /^[\x21-\x7e]*$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** The text with lone surrogates replaced by U+FFFD: it can then be encoded as UTF-8 (and encodeURI does not throw). */
export function wellFormed(text: string): string {
  return text.replace(LONE_SURROGATE, '\uFFFD');
}

/** A value as an error message shows it: JSON-quoted and cut, so a huge or binary value stays readable. */
export function showValue(value: string): string {
  const cut = value.length > 80 ? `${value.slice(0, 80)}…` : value;
  return JSON.stringify(wellFormed(cut));
}

export function containerIdProblem(value: string): string | undefined {
  if (value.length === 0) return 'is required';
  if (value.length > MAX_CONTAINER_ID_LENGTH) return `is longer than ${MAX_CONTAINER_ID_LENGTH} characters`;
  if (!CONTAINER_ID.test(value)) return `${showValue(value)} may hold only letters, digits, "_", "." and "-" and must start with a letter or digit`;
  return undefined;
}

export function ifnameProblem(value: string): string | undefined {
  if (value.length === 0) return 'is required';
  if (value.length > MAX_IFNAME_LENGTH) return `${showValue(value)} is longer than ${MAX_IFNAME_LENGTH} characters`;
  if (value === '.' || value === '..' || /[/:]/.test(value) || !VISIBLE_ASCII.test(value)) {
    return `${showValue(value)} is not a valid interface name: printable ASCII without "/", ":" or whitespace, not "." or ".."`;
  }
  return undefined;
}

export function poolNameProblem(value: string): string | undefined {
  if (value.length === 0) return 'is empty';
  if (!POOL_NAME.test(value)) return `${showValue(value)} is not a valid pool name: 1 to 63 lowercase letters, digits, ".", "_" or "-", starting and ending with a letter or digit`;
  return undefined;
}

/** The CNI network name (the config's `name`); empty is allowed where the field is optional. */
export function networkNameProblem(value: string): string | undefined {
  if (value.length === 0) return undefined;
  if (value.length > MAX_CONTAINER_ID_LENGTH) return `is longer than ${MAX_CONTAINER_ID_LENGTH} characters`;
  if (!NETWORK_NAME.test(value)) return `${showValue(value)} is not a valid network name: letters, digits, "_", "." and "-", starting with a letter or digit`;
  return undefined;
}

/** An address space name as pools use it (config `addressSpace`); empty: any. */
export function addressSpaceProblem(value: string): string | undefined {
  if (value.length === 0) return undefined;
  if (!POOL_NAME.test(value)) return `${showValue(value)} is not a valid address space name: 1 to 63 lowercase letters, digits, ".", "_" or "-"`;
  return undefined;
}

/** Kubernetes namespace (RFC 1123 label); empty: not a pod. */
export function podNamespaceProblem(value: string): string | undefined {
  if (value.length === 0) return undefined;
  if (!DNS_LABEL.test(value)) return `${showValue(value)} is not a Kubernetes namespace: 1 to 63 lowercase letters, digits or "-", starting and ending with a letter or digit`;
  return undefined;
}

/** Kubernetes object name (RFC 1123 subdomain); empty: not a pod. */
export function podNameProblem(value: string): string | undefined {
  if (value.length === 0) return undefined;
  if (value.length > 253) return 'is longer than 253 characters';
  if (!DNS_SUBDOMAIN.test(value)) return `${showValue(value)} is not a Kubernetes pod name: lowercase letters, digits, "-" and ".", starting and ending with a letter or digit`;
  return undefined;
}

export function podUidProblem(value: string): string | undefined {
  if (value.length === 0) return undefined;
  if (!POD_UID.test(value)) return `${showValue(value)} is not a pod UID: up to 128 letters, digits, "_", "." or "-"`;
  return undefined;
}

/** A network namespace path: absolute, bounded, no control characters, well-formed text. */
export function netnsProblem(value: string): string | undefined {
  if (value.length === 0) return undefined;
  if (value.length > MAX_PATH_LENGTH) return `is longer than ${MAX_PATH_LENGTH} characters`;
  if (!value.startsWith('/')) return `${showValue(value)} is not an absolute path`;
  if (CONTROL.test(value) || wellFormed(value) !== value) return `${showValue(value)} holds control characters or malformed text`;
  return undefined;
}

/** Kubernetes label key: an optional DNS-subdomain prefix and "/", then a name of up to 63 characters. */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (LABEL_NAME.test(name) && (prefix === undefined || DNS_SUBDOMAIN.test(prefix))) return undefined;
  return `${showValue(key)} is not a valid label name: [prefix/]name, the name up to 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit, the prefix a DNS subdomain`;
}

export function labelValueProblem(value: string): string | undefined {
  if (LABEL_VALUE.test(value)) return undefined;
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
  if (value.length > 64 || !VISIBLE_ASCII.test(value)) return `${showValue(value)} is not an IP address`;
  return undefined;
}
