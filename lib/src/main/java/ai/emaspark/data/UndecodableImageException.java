package ai.emaspark.data;

/** An image file that cannot be decoded; the message is the reason, for the skip report. */
public final class UndecodableImageException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public UndecodableImageException(String reason) {
        super(reason);
    }
}
