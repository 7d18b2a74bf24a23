package ai.emaspark.data;

/** A dataset that cannot be used as given; the message says what is wrong and what to do. */
public final class DatasetException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public DatasetException(String message) {
        super(message);
    }
}
