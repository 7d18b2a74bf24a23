package ai.emaspark.auth;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.List;

/**
 * Mutual challenge–response in three messages, over any byte stream:
 * <pre>
 *   server → client  hello:  MAGIC, VERSION, Ns (32 random bytes)
 *   client → server  answer: MAGIC, VERSION, Nc, HMAC(secret, "client" | context | Ns | Nc)
 *   server → client  proof:  HMAC(secret, "server" | context | Ns | Nc)
 * </pre>
 * A stranger without the run's secret cannot answer; a recorded answer is worthless against a fresh
 * nonce; the context ("ema epoch 3 attempt 2", "ring epoch 3 attempt 2 rank 0 to 1 of 2 ...") binds
 * a proof to one use, so a rank of an earlier attempt cannot join a later one. Both sides then derive
 * one frame key per direction.
 *
 * <p>A server that cannot take a connection now (too many authenticating) sends {@link #busy()} in place
 * of its hello: the client may come back later, unlike after a refused answer.
 */
public final class Handshake {
    public static final int HELLO_BYTES = 8 + 32;
    public static final int ANSWER_BYTES = 8 + 32 + 32;
    public static final int PROOF_BYTES = 32;
    /** What a server sends instead of its proof when the answer is wrong, so a client of another run or attempt stops at once. */
    private static final byte[] REFUSED = new byte[PROOF_BYTES];
    private static final int MAGIC = 0x454d5341; // "EMSA"
    private static final int BUSY_MAGIC = 0x454d5342; // "EMSB"
    private static final int VERSION = 1;
    private static final SecureRandom RANDOM = new SecureRandom();
    /** A hello's length, so a client reads it where it reads a hello; it carries no nonce to answer. */
    private static final byte[] BUSY = ByteBuffer.allocate(HELLO_BYTES).putInt(BUSY_MAGIC).putInt(VERSION).array();

    private Handshake() {}

    /**
     * The keys of an authenticated connection: the frame MACs of what this side sends and receives, and
     * the ciphers that seal what it sends and open what it receives (used when the run encrypts).
     */
    public record Session(FrameMac send, FrameMac receive, FrameCipher seal, FrameCipher open) {}

    /** The server turned a connection away before its hello: it was not an authentication failure, try again later. */
    public static final class Busy extends IOException {
        private static final long serialVersionUID = 1L;

        Busy() {
            super("busy: too many connections authenticating, come back later");
        }
    }

    /** Sent in place of the hello by a server that cannot take the connection now. */
    public static byte[] busy() {
        return BUSY.clone();
    }

    public static Server server(RunSecret secret, String context) {
        return new Server(secret, List.of(context));
    }

    /**
     * A server that takes a client of any one of {@code contexts} (the streams of one link, each bound
     * to its own): {@link Server#matched()} says which it proved.
     */
    public static Server server(RunSecret secret, List<String> contexts) {
        return new Server(secret, contexts);
    }

    public static Client client(RunSecret secret, String context) {
        return new Client(secret, context);
    }

    /** The listening side. */
    public static final class Server {
        private final RunSecret secret;
        private final List<byte[]> contexts;
        private final byte[] serverNonce = nonce();
        private byte[] clientNonce;
        private byte[] context; // the one the client proved
        private int matched = -1;
        private Session session;

        private Server(RunSecret secret, List<String> contexts) {
            if (contexts.isEmpty()) {
                throw new IllegalArgumentException("no context to authenticate");
            }
            this.secret = secret;
            this.contexts = contexts.stream().map(c -> c.getBytes(StandardCharsets.UTF_8)).toList();
        }

        public byte[] hello() {
            return ByteBuffer.allocate(HELLO_BYTES).putInt(MAGIC).putInt(VERSION).put(serverNonce).array();
        }

        /** Sent in place of the proof when {@link #check} failed. */
        public byte[] refusal() {
            return REFUSED.clone();
        }

        /** Checks the client's answer; returns the proof to send back. */
        public byte[] check(byte[] answer) throws AuthException {
            ByteBuffer in = header(answer, ANSWER_BYTES, "answer");
            clientNonce = new byte[32];
            in.get(clientNonce);
            byte[] proof = new byte[32];
            in.get(proof);
            for (int i = 0; i < contexts.size(); i++) {
                if (MessageDigest.isEqual(proof, secret.mac("client", contexts.get(i), serverNonce, clientNonce))) {
                    matched = i;
                    context = contexts.get(i);
                    return secret.mac("server", context, serverNonce, clientNonce);
                }
            }
            throw new AuthException("the peer does not know this run's secret (or connects for something else)");
        }

        /** Which of the server's contexts the client proved (its index), once {@link #check} passed; -1 before. */
        public int matched() {
            return matched;
        }

        /** The connection's keys, made once: a second set would seal with the same nonces under the same key. */
        public synchronized Session session() {
            if (session == null) {
                session = keys(secret, "s2c", "c2s", context, serverNonce, clientNonce);
            }
            return session;
        }
    }

    /** The connecting side. */
    public static final class Client {
        private final RunSecret secret;
        private final byte[] context;
        private final byte[] clientNonce = nonce();
        private byte[] serverNonce;
        private Session session;

        private Client(RunSecret secret, String context) {
            this.secret = secret;
            this.context = context.getBytes(StandardCharsets.UTF_8);
        }

        /** The answer to the server's hello; {@link Busy} if the server sent {@link #busy()} instead. */
        public byte[] answer(byte[] hello) throws IOException {
            if (MessageDigest.isEqual(hello, BUSY)) {
                throw new Busy();
            }
            ByteBuffer in = header(hello, HELLO_BYTES, "hello");
            serverNonce = new byte[32];
            in.get(serverNonce);
            return ByteBuffer.allocate(ANSWER_BYTES).putInt(MAGIC).putInt(VERSION).put(clientNonce)
                    .put(secret.mac("client", context, serverNonce, clientNonce)).array();
        }

        /** Checks the server's proof: it knows the secret too. */
        public void check(byte[] proof) throws AuthException {
            if (MessageDigest.isEqual(proof, REFUSED)) {
                throw new AuthException("refused: the other side serves another run, epoch or attempt");
            }
            if (proof.length != PROOF_BYTES
                    || !MessageDigest.isEqual(proof, secret.mac("server", context, serverNonce, clientNonce))) {
                throw new AuthException("the server does not know this run's secret");
            }
        }

        /** The connection's keys, made once: a second set would seal with the same nonces under the same key. */
        public synchronized Session session() {
            if (session == null) {
                session = keys(secret, "c2s", "s2c", context, serverNonce, clientNonce);
            }
            return session;
        }
    }

    private static ByteBuffer header(byte[] message, int length, String what) throws AuthException {
        ByteBuffer in = ByteBuffer.wrap(message);
        if (message.length != length || in.getInt() != MAGIC) {
            throw new AuthException("not an emaspark " + what + " (garbage or another protocol)");
        }
        int version = in.getInt();
        if (version != VERSION) {
            throw new AuthException("protocol version " + version + ", expected " + VERSION);
        }
        return in;
    }

    /** Separate keys per direction and per use (MAC, cipher), each an HMAC of the secret, the context and both nonces. */
    private static Session keys(RunSecret secret, String sending, String receiving, byte[] context, byte[] ns, byte[] nc) {
        return new Session(new FrameMac(secret.mac(sending, context, ns, nc)), new FrameMac(secret.mac(receiving, context, ns, nc)),
                FrameCipher.sealing(secret.mac(sending + " aes-gcm", context, ns, nc)),
                FrameCipher.opening(secret.mac(receiving + " aes-gcm", context, ns, nc)));
    }

    private static byte[] nonce() {
        byte[] nonce = new byte[32];
        RANDOM.nextBytes(nonce);
        return nonce;
    }
}
