const FAMILIES: ReadonlyArray<[RegExp, string]> = [
  [/\[S3Console|^S3Console|aws-internal\/3|console\.\w*\.?amazonaws\.com|signin\.amazonaws\.com/i, 'console'],
  [/^aws-cli\//i, 'aws-cli'],
  [/Boto3\//i, 'boto3'],
  [/botocore\//i, 'botocore'],
  [/^rclone\//i, 'rclone'],
  [/^s3cmd\//i, 's3cmd'],
  [/^Cyberduck\//i, 'cyberduck'],
  [/^aws-sdk-java\/|^aws-sdk-java-v2|md\/java|AWS SDK for Java/i, 'sdk-java'],
  [/^aws-sdk-js\/|^aws-sdk-nodejs|md\/nodejs/i, 'sdk-js'],
  [/^aws-sdk-go/i, 'sdk-go'],
  [/^aws-sdk-dotnet|^aws-sdk-net/i, 'sdk-dotnet'],
  [/^aws-sdk-ruby/i, 'sdk-ruby'],
  [/^aws-sdk-php/i, 'sdk-php'],
  [/^aws-sdk-rust/i, 'sdk-rust'],
  [/^aws-sdk-cpp/i, 'sdk-cpp'],
  [/^aws-sdk-kotlin/i, 'sdk-kotlin'],
  [/python-requests\//i, 'python-requests'],
  [/^curl\//i, 'curl'],
  [/^Go-http-client/i, 'go-http'],
  [/^Mozilla\//i, 'browser'],
  [/amazonaws\.com$/i, 'aws-service'],
];

/**
 * Reduces a user agent to the family of the tool behind it (aws-cli, boto3, SDK for Java/JS,
 * rclone, the console…). Versions change weekly; the family is what makes a tool new to a key.
 */
export function classifyUserAgent(userAgent: string): string {
  // S3 data events wrap the agent in brackets (`[aws-cli/1.18.136 Python/3.8.5 … botocore/1.17.59]`),
  // management events do not: the same tool must land in the same family either way.
  const agent = userAgent.replace(/^\[/, '').replace(/\]$/, '');
  for (const [pattern, family] of FAMILIES) {
    if (pattern.test(agent)) return family;
  }
  if (agent === '') return 'none';
  const product = agent.split(/[\s/]/, 1)[0] ?? '';
  return `other:${product.slice(0, 32).toLowerCase()}`;
}

/**
 * The network a source address belongs to: its /24 for IPv4, its /64 for IPv6; a service name
 * (`s3.amazonaws.com`) or anything else is its own network.
 */
export function networkOf(sourceIp: string): string {
  let network = recentNetworks.get(sourceIp);
  if (network === undefined) {
    if (recentNetworks.size >= MAX_RECENT_NETWORKS) recentNetworks.clear();
    network = parseNetwork(sourceIp);
    recentNetworks.set(sourceIp, network);
  }
  return network;
}

/**
 * The networks of the addresses seen last: every event's network is counted in its window and in
 * its principal's sightings, and a batch's events come from a few addresses again and again.
 */
const recentNetworks = new Map<string, string>();
const MAX_RECENT_NETWORKS = 10_000;

function parseNetwork(sourceIp: string): string {
  const v4 = sourceIp.match(/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.\d{1,3}$/);
  if (v4) return `${v4[1]}.${v4[2]}.${v4[3]}.0/24`;
  if (sourceIp.includes(':')) {
    const groups = expandIpv6(sourceIp);
    if (groups) return `${groups.slice(0, 4).join(':')}::/64`;
  }
  return sourceIp;
}

function expandIpv6(address: string): string[] | undefined {
  const halves = address.split('::');
  if (halves.length > 2) return undefined;
  const [head = '', tail] = halves;
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const missing = 8 - left.length - right.length;
  if (missing < 0 || (tail === undefined && missing !== 0)) return undefined;
  const groups = [...left, ...Array<string>(missing).fill('0'), ...right];
  return groups.every((group) => /^[0-9a-f]{1,4}$/i.test(group))
    ? groups.map((group) => group.toLowerCase().replace(/^0+(?=.)/, ''))
    : undefined;
}
