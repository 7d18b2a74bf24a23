package ai.emaspark.spark;

/** The prepare test's JPEG bomb maker, for the data package's tests. */
public final class PrepareDriverTestAccess {
    private PrepareDriverTestAccess() {}

    public static byte[] claimSize(byte[] jpeg, int width, int height) {
        return PrepareDriverTest.claimSize(jpeg, width, height);
    }
}
