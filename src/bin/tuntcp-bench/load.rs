//! The loads: each drives an echo server from kernel sockets and checks
//! every byte that comes back.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Byte `i` of a stream of `seed`: position-dependent, so a lost,
/// duplicated or reordered chunk of the echo changes what comes back.
fn pattern_byte(seed: u64, i: u64) -> u8 {
    let x = (i ^ seed.rotate_left(17)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (x >> 56) as u8
}

fn fill_pattern(seed: u64, offset: u64, buf: &mut [u8]) {
    for (k, byte) in buf.iter_mut().enumerate() {
        *byte = pattern_byte(seed, offset + k as u64);
    }
}

fn mismatch(seed: u64, offset: u64, got: &[u8]) -> Option<u64> {
    got.iter()
        .enumerate()
        .find(|&(k, &b)| b != pattern_byte(seed, offset + k as u64))
        .map(|(k, _)| offset + k as u64)
}

/// Connects with the timeouts every load uses: a stuck server fails the
/// measurement instead of hanging it.
pub fn connect(addr: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    Ok(stream)
}

/// Writes `total` bytes of a pattern on one connection while reading the
/// echo back and checking it; returns when every byte came back.
pub fn echo_stream(addr: SocketAddr, total: u64, seed: u64, timeout: Duration) -> io::Result<()> {
    let stream = connect(addr, timeout)?;
    let writer = stream.try_clone()?;
    let sender = std::thread::spawn(move || -> io::Result<()> {
        let mut chunk = vec![0u8; 64 * 1024];
        let mut sent = 0u64;
        while sent < total {
            let n = (total - sent).min(chunk.len() as u64) as usize;
            fill_pattern(seed, sent, &mut chunk[..n]);
            (&writer).write_all(&chunk[..n])?;
            sent += n as u64;
        }
        writer.shutdown(Shutdown::Write)
    });
    let mut buf = vec![0u8; 256 * 1024];
    let mut received = 0u64;
    while received < total {
        let n = (&stream).read(&mut buf)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("echo ended after {received} of {total} bytes"),
            ));
        }
        if let Some(at) = mismatch(seed, received, &buf[..n]) {
            return Err(io::Error::other(format!("echo differs at byte {at}")));
        }
        received += n as u64;
    }
    sender
        .join()
        .map_err(|_| io::Error::other("sender panicked"))?
}

/// `flows` connections at once, each echoing `bytes_each`; returns the
/// aggregate MB/s of echoed payload.
pub fn bulk(addr: SocketAddr, flows: usize, bytes_each: u64, timeout: Duration) -> io::Result<f64> {
    let start = Instant::now();
    let workers: Vec<_> = (0..flows)
        .map(|flow| {
            std::thread::spawn(move || echo_stream(addr, bytes_each, flow as u64 + 1, timeout))
        })
        .collect();
    for worker in workers {
        worker
            .join()
            .map_err(|_| io::Error::other("flow panicked"))??;
    }
    let total = bytes_each * flows as u64;
    Ok(total as f64 / 1e6 / start.elapsed().as_secs_f64())
}

/// Request/response figures: rate and latency percentiles.
pub struct Transactions {
    pub per_second: f64,
    pub p50_us: f64,
    pub p99_us: f64,
}

/// 1-byte request, 1-byte response, one at a time, on one connection.
pub fn transactions(addr: SocketAddr, seconds: Duration) -> io::Result<Transactions> {
    let mut stream = connect(addr, Duration::from_secs(10))?;
    stream.set_nodelay(true)?;
    let mut latencies = Vec::new();
    let start = Instant::now();
    let mut byte = [0u8; 1];
    while start.elapsed() < seconds {
        let sent_at = Instant::now();
        let request = latencies.len() as u8;
        stream.write_all(&[request])?;
        stream.read_exact(&mut byte)?;
        if byte[0] != request {
            return Err(io::Error::other("a transaction came back changed"));
        }
        latencies.push(sent_at.elapsed());
    }
    let per_second = latencies.len() as f64 / start.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let percentile = |p: f64| {
        let index = ((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1));
        latencies.get(index).map_or(0.0, |d| d.as_secs_f64() * 1e6)
    };
    Ok(Transactions {
        per_second,
        p50_us: percentile(0.50),
        p99_us: percentile(0.99),
    })
}

/// Full connection lifecycles: connect, 1-byte echo, close.
pub fn connections(addr: SocketAddr, seconds: Duration) -> io::Result<f64> {
    let start = Instant::now();
    let mut count = 0u64;
    let mut byte = [0u8; 1];
    while start.elapsed() < seconds {
        let mut stream = connect(addr, Duration::from_secs(10))?;
        stream.write_all(b"x")?;
        stream.read_exact(&mut byte)?;
        drop(stream);
        count += 1;
    }
    Ok(count as f64 / start.elapsed().as_secs_f64())
}

/// Opens `count` connections and proves each is served (one byte echoed),
/// then leaves them open and idle; the caller measures and drops them.
pub fn open_idle(addr: SocketAddr, count: usize) -> io::Result<Vec<TcpStream>> {
    let mut streams = Vec::with_capacity(count);
    let mut byte = [0u8; 1];
    for i in 0..count {
        let mut stream = connect(addr, Duration::from_secs(20))
            .map_err(|err| io::Error::new(err.kind(), format!("connection {}: {err}", i + 1)))?;
        stream.write_all(b"i")?;
        stream.read_exact(&mut byte)?;
        streams.push(stream);
    }
    Ok(streams)
}

/// Checks that every `step`-th of the open connections still echoes.
pub fn sample_echo(streams: &mut [TcpStream], step: usize) -> io::Result<usize> {
    let mut checked = 0;
    let mut byte = [0u8; 1];
    for stream in streams.iter_mut().step_by(step.max(1)) {
        stream.write_all(b"s")?;
        stream.read_exact(&mut byte)?;
        if byte[0] != b's' {
            return Err(io::Error::other("an idle connection echoed the wrong byte"));
        }
        checked += 1;
    }
    Ok(checked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_detects_a_shifted_chunk() {
        let mut buf = vec![0u8; 4096];
        fill_pattern(7, 1000, &mut buf);
        assert_eq!(mismatch(7, 1000, &buf), None);
        // The same bytes taken as if they came one position later: a
        // duplicated or lost byte upstream.
        assert!(mismatch(7, 1001, &buf).is_some());
        assert!(mismatch(8, 1000, &buf).is_some());
    }
}
