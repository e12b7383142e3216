// Every string a caller sends, checked at the edge before any service code sees it: one table of
// field rules per RPC (daemon/src/fieldRules.ts), and one INVALID_ARGUMENT naming every bad field.
// The service keeps its own checks of meaning (pool known, address inside it, ...).
import { InvalidArgumentError } from '../errors.ts';
import {
  addressTextProblem, containerIdProblem, ifnameProblem, labelProblems, MAX_LIST_ENTRIES, netnsProblem, addressSpaceProblem,
  networkNameProblem, podNameProblem, podNamespaceProblem, podUidProblem, poolNameProblem, showValue,
} from '../fieldRules.ts';

type Rule = (value: string) => string | undefined;
type Message = Record<string, unknown>;

/** Collects problems as "field problem" lines. */
class Problems {
  readonly lines: string[] = [];
  field(message: Message, key: string, field: string, rule: Rule, optional = false): void {
    const value = message[key];
    if (value === undefined || value === null) return;
    if (typeof value !== 'string') { this.lines.push(`${field} must be a string`); return; }
    if (optional && value === '') return;
    const problem = rule(value);
    if (problem !== undefined) this.lines.push(`${field} ${problem}`);
  }
  list(message: Message, key: string, field: string, rule: Rule, separator = ' '): void {
    const values = message[key];
    if (values === undefined || values === null) return;
    if (!Array.isArray(values)) { this.lines.push(`${field} must be a list`); return; }
    if (values.length > MAX_LIST_ENTRIES) { this.lines.push(`${field} has ${values.length} entries; at most ${MAX_LIST_ENTRIES}`); return; }
    for (const [i, value] of values.entries()) {
      const problem = typeof value === 'string' ? rule(value) : 'must be a string';
      if (problem !== undefined) this.lines.push(`${field}[${i}]${separator}${problem}`);
    }
  }
  labels(message: Message, key: string, field: string): void {
    const labels = message[key];
    if (labels === undefined || labels === null) return;
    if (typeof labels !== 'object') { this.lines.push(`${field} must be a map`); return; }
    this.lines.push(...labelProblems(labels as Record<string, string>, field));
  }
  selector(message: Message): void {
    const selector = message.poolSelector;
    if (selector !== undefined && selector !== null && typeof selector === 'object') this.labels(selector as Message, 'matchLabels', 'pool_selector.match_labels');
  }
  attachment(message: Message, prefix: string): void {
    this.field(message, 'containerId', `${prefix}container_id`, containerIdProblem);
    this.field(message, 'ifname', `${prefix}ifname`, ifnameProblem);
  }
}

const ownerProblem: Rule = (value) => (value.length <= 256 && /^[\x21-\x7e]*$/.test(value) ? undefined : `${showValue(value)} may hold only printable ASCII without spaces, at most 256 characters`);
const addressProblem: Rule = (value) => (addressTextProblem(value) === undefined ? undefined : `${showValue(value)} is not an IP address`);

/** The fields every lease of a backup carries. */
function leaseFields(problems: Problems, lease: Message, prefix: string): void {
  problems.field(lease, 'pool', `${prefix}pool`, poolNameProblem);
  problems.field(lease, 'address', `${prefix}address:`, addressProblem);
  problems.attachment(lease, prefix);
  problems.field(lease, 'network', `${prefix}network`, networkNameProblem);
  problems.field(lease, 'addressSpace', `${prefix}address_space`, addressSpaceProblem);
  problems.field(lease, 'podNamespace', `${prefix}pod_namespace`, podNamespaceProblem);
  problems.field(lease, 'podName', `${prefix}pod_name`, podNameProblem);
  problems.field(lease, 'podUid', `${prefix}pod_uid`, podUidProblem);
  problems.field(lease, 'netns', `${prefix}netns`, netnsProblem);
  problems.field(lease, 'bootId', `${prefix}boot_id`, podUidProblem);
}

const RULES: Record<string, (problems: Problems, request: Message) => void> = {
  Allocate: (p, r) => {
    p.attachment(r, '');
    p.list(r, 'pools', 'pools', poolNameProblem);
    p.list(r, 'requestedIps', 'requested_ips', addressProblem, ': ');
    p.field(r, 'podNamespace', 'pod_namespace', podNamespaceProblem);
    p.field(r, 'podName', 'pod_name', podNameProblem);
    p.field(r, 'podUid', 'pod_uid', podUidProblem);
    p.field(r, 'netns', 'netns', netnsProblem);
    p.field(r, 'network', 'network', networkNameProblem);
    p.labels(r, 'podLabels', 'pod_labels');
    p.selector(r);
  },
  Release: (p, r) => {
    p.attachment(r, '');
    p.list(r, 'pools', 'pools', poolNameProblem);
  },
  Check: (p, r) => {
    p.attachment(r, '');
    p.list(r, 'pools', 'pools', poolNameProblem);
    p.list(r, 'expectedAddresses', 'expected_addresses', addressProblem, ': ');
    p.selector(r);
  },
  ListLeases: (p, r) => {
    p.field(r, 'pool', 'pool', poolNameProblem, true);
    p.field(r, 'containerId', 'container_id', containerIdProblem, true);
    p.field(r, 'network', 'network', networkNameProblem);
    p.field(r, 'addressSpace', 'address_space', addressSpaceProblem);
  },
  GarbageCollect: (p, r) => {
    p.field(r, 'network', 'network', networkNameProblem);
    const attachments = r.validAttachments;
    if (Array.isArray(attachments)) {
      for (const [i, attachment] of attachments.entries()) p.attachment(attachment as Message, `valid_attachments[${i}].`);
    }
  },
  Status: (p, r) => {
    p.list(r, 'pools', 'pools', poolNameProblem);
    p.selector(r);
  },
  ImportLeases: (p, r) => {
    const leases = Array.isArray(r.leases) ? r.leases as Message[] : [];
    for (const [i, lease] of leases.entries()) leaseFields(p, lease, `leases[${i}].`);
    const prefixes = Array.isArray(r.prefixes) ? r.prefixes as Message[] : [];
    for (const [i, prefix] of prefixes.entries()) {
      p.field(prefix, 'pool', `prefixes[${i}].pool`, poolNameProblem);
      p.field(prefix, 'owner', `prefixes[${i}].owner`, ownerProblem);
      p.field(prefix, 'addressSpace', `prefixes[${i}].address_space`, addressSpaceProblem);
    }
  },
  AllocatePrefix: (p, r) => {
    p.field(r, 'pool', 'pool', poolNameProblem);
    p.field(r, 'owner', 'owner', ownerProblem);
    p.field(r, 'requestedPrefix', 'requested_prefix:', addressProblem, true);
  },
  ReleasePrefix: (p, r) => {
    p.field(r, 'pool', 'pool', poolNameProblem);
    p.field(r, 'owner', 'owner', ownerProblem);
  },
  ListPrefixes: (p, r) => {
    p.field(r, 'pool', 'pool', poolNameProblem, true);
    p.field(r, 'owner', 'owner', ownerProblem);
  },
};

/** Throws one InvalidArgumentError naming every malformed field of the request (at most 10 shown). */
export function validateRequest(method: string, request: unknown): void {
  const rules = RULES[method];
  if (rules === undefined || typeof request !== 'object' || request === null) return;
  const problems = new Problems();
  rules(problems, request as Message);
  if (problems.lines.length === 0) return;
  const shown = problems.lines.slice(0, 10).join('; ');
  throw new InvalidArgumentError(problems.lines.length > 10 ? `${shown}; and ${problems.lines.length - 10} more` : shown);
}
