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
  for (const [pattern, family] of FAMILIES) {
    if (pattern.test(userAgent)) return family;
  }
  if (userAgent === '') return 'none';
  const product = userAgent.split(/[\s/]/, 1)[0] ?? '';
  return `other:${product.slice(0, 32).toLowerCase()}`;
}

/**
 * The network a source address belongs to: its /24 for IPv4, its /64 for IPv6; a service name
 * (`s3.amazonaws.com`) or anything else is its own network.
 */
export function networkOf(sourceIp: string): string {
  const v4 = sourceIp.match(/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.\d{1,3}$/);
  if (v4) return `${v4[1]}.${v4[2]}.${v4[3]}.0/24`;
  if (sourceIp.includes(':')) {
    const groups = expandIpv6(sourceIp);
    if (groups) return `${groups.slice(0, 4).join(':')}::/64`;
  }
  return sourceIp;
}

function expandIpv6(address: string): string[] | undefined {
  const [head = '', tail] = address.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const missing = 8 - left.length - right.length;
  if (missing < 0 || (tail === undefined && missing !== 0)) return undefined;
  const groups = [...left, ...Array<string>(missing).fill('0'), ...right];
  return groups.every((group) => /^[0-9a-f]{1,4}$/i.test(group))
    ? groups.map((group) => group.toLowerCase().replace(/^0+(?=.)/, ''))
    : undefined;
}
