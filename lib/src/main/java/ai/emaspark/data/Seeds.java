package ai.emaspark.data;

/** Seeds derived from (RNG_SEED, epoch, rank or image key): never from time or thread order. */
public final class Seeds {
    private Seeds() {}

    public static long mix(long... parts) {
        long h = 0x9E3779B97F4A7C15L;
        for (long part : parts) {
            h = fmix(h ^ fmix(part + 0x632BE59BD9B4E019L));
        }
        return h;
    }

    public static long ofKey(String key) {
        long h = 1125899906842597L;
        for (int i = 0; i < key.length(); i++) {
            h = 31 * h + key.charAt(i);
        }
        return fmix(h);
    }

    /** MurmurHash3's 64-bit finaliser. */
    private static long fmix(long k) {
        k ^= k >>> 33;
        k *= 0xff51afd7ed558ccdL;
        k ^= k >>> 33;
        k *= 0xc4ceb9fe1a85ec53L;
        k ^= k >>> 33;
        return k;
    }
}
