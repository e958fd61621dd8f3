//! [`HickoryLookup`] against a tiny authoritative DNS server on 127.0.0.1 (no real DNS).

use super::*;
use hickory_resolver::proto::op::{Message, OpCode, ResponseCode};
use hickory_resolver::proto::rr::RData;
use hickory_resolver::proto::rr::rdata::{A, AAAA, SRV};
use hickory_resolver::proto::rr::{Name, Record, RecordType};
use std::net::IpAddr;
use tokio::net::UdpSocket;

fn record(name: &str, ttl: u32, data: RData) -> Record {
    Record::from_rdata(Name::from_ascii(name).unwrap(), ttl, data)
}

/// Answers for the zone `example.test`; anything else is NXDOMAIN.
fn answer(query: &Message) -> Message {
    let mut response = Message::response(query.metadata.id, OpCode::Query);
    response.metadata.recursion_desired = query.metadata.recursion_desired;
    response.metadata.recursion_available = true;
    response.metadata.authoritative = true;
    let Some(question) = query.queries.first().cloned() else {
        response.metadata.response_code = ResponseCode::FormErr;
        return response;
    };
    let name = question.name().to_ascii().to_ascii_lowercase();
    let kind = question.query_type();
    response.add_query(question);
    let srv = |priority, weight, port, target: &str| {
        RData::SRV(SRV::new(
            priority,
            weight,
            port,
            Name::from_ascii(target).unwrap(),
        ))
    };
    match (name.as_str(), kind) {
        ("_sip._udp.example.test.", RecordType::SRV) => {
            response.add_answers([
                record(&name, 120, srv(20, 0, 5070, "pbx2.example.test.")),
                record(&name, 120, srv(10, 0, 5060, "pbx1.example.test.")),
            ]);
        }
        ("_sip._udp.closed.example.test.", RecordType::SRV) => {
            response.add_answer(record(&name, 120, srv(0, 0, 0, ".")));
        }
        ("pbx1.example.test.", RecordType::A) => {
            response.add_answer(record(&name, 60, RData::A(A("192.0.2.1".parse().unwrap()))));
        }
        ("pbx1.example.test.", RecordType::AAAA) => {
            response.add_answer(record(
                &name,
                30,
                RData::AAAA(AAAA("2001:db8::1".parse().unwrap())),
            ));
        }
        ("pbx2.example.test.", RecordType::A) => {
            response.add_answer(record(&name, 60, RData::A(A("192.0.2.2".parse().unwrap()))));
        }
        ("broken.example.test.", _) | ("_sip._udp.broken.example.test.", _) => {
            response.metadata.response_code = ResponseCode::ServFail;
        }
        (name, _) if name.ends_with("example.test.") => {} // exists, no such records
        _ => response.metadata.response_code = ResponseCode::NXDomain,
    }
    response
}

async fn dns_server() -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buffer = vec![0u8; 4096];
        while let Ok((len, peer)) = socket.recv_from(&mut buffer).await {
            let Ok(query) = Message::from_vec(&buffer[..len]) else {
                continue;
            };
            let bytes = answer(&query).to_vec().unwrap();
            let _ = socket.send_to(&bytes, peer).await;
        }
    });
    addr
}

#[tokio::test]
async fn hickory_reads_srv_and_ip_records() {
    let lookup = HickoryLookup::with_name_servers(vec![dns_server().await]).unwrap();

    let mut records = lookup.srv("_sip._udp.example.test").await.unwrap();
    records.sort_by_key(|r| r.priority);
    assert_eq!(records.len(), 2);
    assert_eq!(
        (
            records[0].priority,
            records[0].port,
            records[0].target.as_str()
        ),
        (10, 5060, "pbx1.example.test.")
    );
    assert!(records[0].ttl <= Duration::from_secs(120));
    assert!(records[0].ttl >= Duration::from_secs(110));

    let ips = lookup.ips("pbx1.example.test").await.unwrap();
    let addrs: Vec<IpAddr> = ips.iter().map(|r| r.ip).collect();
    assert_eq!(
        addrs,
        vec![
            "192.0.2.1".parse::<IpAddr>().unwrap(),
            "2001:db8::1".parse().unwrap()
        ]
    );
    assert!(ips.iter().all(|r| r.ttl <= Duration::from_secs(60)));

    // NXDOMAIN and "no records of that type" are empty answers, not errors.
    assert_eq!(lookup.srv("_sip._udp.nowhere.invalid").await, Ok(vec![]));
    assert_eq!(lookup.ips("nowhere.invalid").await, Ok(vec![]));
    assert_eq!(lookup.srv("_sip._tcp.example.test").await, Ok(vec![]));
    assert_eq!(lookup.ips("pbx2.example.test").await.unwrap().len(), 1);

    // SERVFAIL is an error.
    assert!(matches!(
        lookup.ips("broken.example.test").await,
        Err(ResolveError::Failed { .. })
    ));
}

#[tokio::test]
async fn resolver_over_hickory() {
    let lookup = HickoryLookup::with_name_servers(vec![dns_server().await]).unwrap();
    let resolver = Resolver::new(Arc::new(lookup)).with_seed(1);
    let now = Instant::now();
    let targets = resolver
        .resolve(&SipUri::parse("sip:example.test").unwrap(), now)
        .await
        .unwrap();
    let addrs: Vec<SocketAddr> = targets.iter().map(|t| t.addr).collect();
    assert_eq!(
        addrs,
        vec![
            "192.0.2.1:5060".parse::<SocketAddr>().unwrap(),
            "[2001:db8::1]:5060".parse().unwrap(),
            "192.0.2.2:5070".parse().unwrap(),
        ]
    );
    assert!(targets.iter().all(|t| t.transport == Transport::Udp));

    let closed = resolver
        .resolve(&SipUri::parse("sip:closed.example.test").unwrap(), now)
        .await
        .unwrap();
    assert!(closed.is_empty());

    assert!(
        resolver
            .resolve(&SipUri::parse("sip:broken.example.test").unwrap(), now)
            .await
            .is_err()
    );
}
