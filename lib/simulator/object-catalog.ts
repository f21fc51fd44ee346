import { SeededRandom, hashString } from './seeded-random.ts';

/** One object of the protected bucket. */
export interface StoredObject {
  key: string;
  /** `arn:aws:s3:::bucket/key`, kept because every record about the object repeats it. */
  arn: string;
  size: number;
}

const OBJECT_COUNT = 1024;

// Names a clinic really stores: patients' names in their own scripts, accents and the odd emoji
// typed into an upload form. Readers must survive them in keys, ARNs and URL-encoded listings.
const UNICODE_NAMES = [
  '山田太郎_検査結果.pdf',
  '佐藤花子_健康診断.pdf',
  '鈴木一郎_血液検査.pdf',
  '高橋美咲_レントゲン.pdf',
  '田中健_心電図.pdf',
  '渡辺さくら_報告書.pdf',
  '伊藤翔太_結果.pdf',
  '中村由美_検診.pdf',
  'résumé-médical.pdf',
  'Zoë-Ångström-bilan.pdf',
  'François-Lefèvre-résultats.pdf',
  'José-Muñoz-análisis.pdf',
  'Øyvind-Søreide-rapport.pdf',
  'Łukasz-Wiśniewski-wyniki.pdf',
  'Ünal-Çelik-sonuç.pdf',
  '🩺-annual-checkup.pdf',
  'report-✅-final.pdf',
  '❤️-cardiology.pdf',
  'Müller-Größe-Befund.pdf',
  'naïve-café-crème-notes.pdf',
];

/**
 * The protected bucket's objects and their versions. Version ids are derived from the object and
 * the version number instead of being stored, so that a month of application writes at high scale
 * costs one counter per object, and a ransomware run can still enumerate every version.
 */
export class ObjectCatalog {
  readonly objects: readonly StoredObject[];
  private readonly versionCounts: Uint32Array;
  private readonly versionSeed: number;

  constructor(
    readonly bucket: string,
    seed: number,
  ) {
    this.versionSeed = hashString(`versions:${seed}`);
    const random = SeededRandom.derive(seed, 'catalog');
    const objects: StoredObject[] = [];
    const keys = new Set<string>();
    const add = (key: string): void => {
      // Two draws can name the same patient; a bucket holds a key once.
      if (keys.has(key)) return;
      keys.add(key);
      // Sizes are log-uniform between 50 KB and 2 MB: most reports are small, a few carry images.
      const size = Math.round(Math.exp(random.between(Math.log(50_000), Math.log(2_000_000))));
      objects.push({ key, arn: `arn:aws:s3:::${bucket}/${key}`, size });
    };
    const patient = (): string => `P${random.integer(100_000, 999_999)}`;
    for (const name of UNICODE_NAMES) add(`checkups/2025/${patient()}/${name}`);
    for (let i = 0; i < 3; i++) {
      // S3 allows 1,024 bytes of key; scanned series with descriptive folder names get close.
      const folder = `${patient()}/imaging-series-${i}`;
      let long = `checkups/2025/${folder}`;
      while (long.length < 880) long += `/slice-${random.hex(8)}-axial-t2-weighted`;
      add(`${long.slice(0, 880)}/report.pdf`);
    }
    while (objects.length < OBJECT_COUNT) {
      const name = random.chance(0.8) ? 'report.pdf' : random.pick(['lab-results.pdf', 'ecg.pdf', 'summary.pdf']);
      add(`checkups/2025/${patient()}/${name}`);
    }
    objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    this.objects = objects;
    this.versionCounts = new Uint32Array(objects.length);
    for (let i = 0; i < objects.length; i++) this.versionCounts[i] = random.integer(1, 3);
  }

  /** The id of version `n` (1 = oldest) of object `index`. */
  private versionId(index: number, n: number): string {
    return new SeededRandom(hashString(`${index}:${n}`, this.versionSeed)).versionId();
  }

  /** Records a write of the object and returns the id of the version it created. */
  addVersion(index: number): string {
    const n = (this.versionCounts[index] ?? 0) + 1;
    this.versionCounts[index] = n;
    return this.versionId(index, n);
  }

  /** The object's version ids, newest first, as ListObjectVersions returns them. */
  listVersions(index: number): string[] {
    const ids: string[] = [];
    for (let n = this.versionCounts[index] ?? 0; n >= 1; n--) ids.push(this.versionId(index, n));
    return ids;
  }
}
