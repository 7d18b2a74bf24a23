package ai.emaspark.auth;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import javax.crypto.Mac;

/**
 * The MAC of the frames one side sends over one connection (or checks on receipt): HMAC-SHA256 under
 * the direction's session key, over the frame's bytes and its sequence number, so a frame cannot be
 * altered, dropped, reordered or replayed within the connection, nor moved to another one.
 * Feed a frame's bytes with {@code update}, then call {@link #tag()} (sender) or {@link #verify}
 * (receiver); both end the frame.
 */
public final class FrameMac {
    public static final int TAG_BYTES = 32;

    private final Mac mac;
    private long sequence;

    FrameMac(byte[] key) {
        this.mac = RunSecret.newMac(key);
    }

    public FrameMac update(byte[] bytes, int offset, int length) {
        mac.update(bytes, offset, length);
        return this;
    }

    /** The bytes from {@code buffer}'s position to its limit; the buffer's position does not move. */
    public FrameMac update(ByteBuffer buffer) {
        mac.update(buffer.duplicate());
        return this;
    }

    /** Ends the frame: its tag, to send after it. */
    public byte[] tag() {
        long n = sequence++;
        mac.update(new byte[] {(byte) (n >>> 56), (byte) (n >>> 48), (byte) (n >>> 40), (byte) (n >>> 32),
                (byte) (n >>> 24), (byte) (n >>> 16), (byte) (n >>> 8), (byte) n});
        return mac.doFinal();
    }

    /** Ends the frame and checks the tag that came with it (in constant time). */
    public void verify(byte[] received, String what) throws AuthException {
        if (!MessageDigest.isEqual(tag(), received)) {
            throw new AuthException(what + " failed its MAC check (altered, replayed or not from this run)");
        }
    }
}
