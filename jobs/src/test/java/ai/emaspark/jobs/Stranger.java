package ai.emaspark.jobs;

import ai.emaspark.auth.Handshake;
import ai.emaspark.auth.RunSecret;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Someone else on the cluster's network, poking at a port of a run: garbage, an answer made with the
 * wrong secret, a trickle of bytes, a burst of connections. Counts the attempts it got to make.
 */
final class Stranger {
    final AtomicInteger attempts = new AtomicInteger();
    private final Random random = new Random(7);

    /** One round of every kind of visit to host:port; each ends when the port closes the connection. */
    void visit(String host, int port) {
        garbage(host, port);
        wrongSecret(host, port);
        trickle(host, port);
        burst(host, port);
    }

    private void garbage(String host, int port) {
        try (Socket socket = connect(host, port)) {
            byte[] bytes = new byte[4096];
            random.nextBytes(bytes);
            socket.getOutputStream().write(bytes);
            drain(socket);
        } catch (IOException closed) {
            // refused: what is expected
        }
    }

    private void wrongSecret(String host, int port) {
        try (Socket socket = connect(host, port)) {
            DataInputStream in = new DataInputStream(socket.getInputStream());
            byte[] hello = new byte[Handshake.HELLO_BYTES];
            in.readFully(hello);
            socket.getOutputStream().write(Handshake.client(RunSecret.generate(), "ema epoch 0 attempt 0").answer(hello));
            drain(socket);
        } catch (IOException closed) {
            // refused
        }
    }

    private void trickle(String host, int port) {
        try (Socket socket = connect(host, port)) {
            OutputStream out = socket.getOutputStream();
            for (int i = 0; i < 30; i++) {
                out.write(i);
                out.flush();
                Thread.sleep(400);
            }
        } catch (IOException | InterruptedException closed) {
            // cut off
        }
    }

    private void burst(String host, int port) {
        List<Socket> sockets = new ArrayList<>();
        try {
            for (int i = 0; i < 20; i++) {
                sockets.add(connect(host, port));
            }
        } catch (IOException refused) {
            // enough
        } finally {
            for (Socket socket : sockets) {
                try {
                    socket.close();
                } catch (IOException ignored) {
                    // closing anyway
                }
            }
        }
    }

    private Socket connect(String host, int port) throws IOException {
        attempts.incrementAndGet();
        Socket socket = new Socket();
        socket.connect(new InetSocketAddress(host, port), 2000);
        socket.setSoTimeout(15_000);
        return socket;
    }

    private static void drain(Socket socket) throws IOException {
        byte[] buffer = new byte[1024];
        while (socket.getInputStream().read(buffer) >= 0) {
            // until the port closes the connection
        }
    }
}
