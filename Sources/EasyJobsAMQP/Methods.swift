import NIOCore

/// The AMQP 0-9-1 methods this client sends or understands, with their arguments. Reserved
/// ("deprecated") arguments of the specification are written as zero and skipped on reading.
enum AMQPMethod: Sendable, Equatable {
    // connection (class 10)
    case connectionStart(versionMajor: UInt8, versionMinor: UInt8, serverProperties: AMQPFieldTable, mechanisms: String, locales: String)
    case connectionStartOk(clientProperties: AMQPFieldTable, mechanism: String, response: String, locale: String)
    case connectionTune(channelMax: UInt16, frameMax: UInt32, heartbeat: UInt16)
    case connectionTuneOk(channelMax: UInt16, frameMax: UInt32, heartbeat: UInt16)
    case connectionOpen(virtualHost: String)
    case connectionOpenOk
    case connectionClose(replyCode: UInt16, replyText: String, classID: UInt16, methodID: UInt16)
    case connectionCloseOk
    case connectionBlocked(reason: String)
    case connectionUnblocked
    // channel (class 20)
    case channelOpen
    case channelOpenOk
    case channelFlow(active: Bool)
    case channelFlowOk(active: Bool)
    case channelClose(replyCode: UInt16, replyText: String, classID: UInt16, methodID: UInt16)
    case channelCloseOk
    // exchange (class 40)
    case exchangeDeclare(
        exchange: String, type: String, passive: Bool, durable: Bool, autoDelete: Bool, internal: Bool, noWait: Bool, arguments: AMQPFieldTable)
    case exchangeDeclareOk
    // queue (class 50)
    case queueDeclare(queue: String, passive: Bool, durable: Bool, exclusive: Bool, autoDelete: Bool, noWait: Bool, arguments: AMQPFieldTable)
    case queueDeclareOk(queue: String, messageCount: UInt32, consumerCount: UInt32)
    case queueBind(queue: String, exchange: String, routingKey: String, noWait: Bool, arguments: AMQPFieldTable)
    case queueBindOk
    case queueDelete(queue: String, ifUnused: Bool, ifEmpty: Bool, noWait: Bool)
    case queueDeleteOk(messageCount: UInt32)
    // basic (class 60)
    case basicQos(prefetchSize: UInt32, prefetchCount: UInt16, global: Bool)
    case basicQosOk
    case basicConsume(queue: String, consumerTag: String, noLocal: Bool, noAck: Bool, exclusive: Bool, noWait: Bool, arguments: AMQPFieldTable)
    case basicConsumeOk(consumerTag: String)
    case basicCancel(consumerTag: String, noWait: Bool)
    case basicCancelOk(consumerTag: String)
    case basicPublish(exchange: String, routingKey: String, mandatory: Bool, immediate: Bool)
    case basicReturn(replyCode: UInt16, replyText: String, exchange: String, routingKey: String)
    case basicDeliver(consumerTag: String, deliveryTag: UInt64, redelivered: Bool, exchange: String, routingKey: String)
    case basicAck(deliveryTag: UInt64, multiple: Bool)
    case basicReject(deliveryTag: UInt64, requeue: Bool)
    case basicNack(deliveryTag: UInt64, multiple: Bool, requeue: Bool)
    // confirm (class 85)
    case confirmSelect(noWait: Bool)
    case confirmSelectOk

    var classID: UInt16 { ids.0 }
    var methodID: UInt16 { ids.1 }

    var ids: (UInt16, UInt16) {
        switch self {
        case .connectionStart: (10, 10)
        case .connectionStartOk: (10, 11)
        case .connectionTune: (10, 30)
        case .connectionTuneOk: (10, 31)
        case .connectionOpen: (10, 40)
        case .connectionOpenOk: (10, 41)
        case .connectionClose: (10, 50)
        case .connectionCloseOk: (10, 51)
        case .connectionBlocked: (10, 60)
        case .connectionUnblocked: (10, 61)
        case .channelOpen: (20, 10)
        case .channelOpenOk: (20, 11)
        case .channelFlow: (20, 20)
        case .channelFlowOk: (20, 21)
        case .channelClose: (20, 40)
        case .channelCloseOk: (20, 41)
        case .exchangeDeclare: (40, 10)
        case .exchangeDeclareOk: (40, 11)
        case .queueDeclare: (50, 10)
        case .queueDeclareOk: (50, 11)
        case .queueBind: (50, 20)
        case .queueBindOk: (50, 21)
        case .queueDelete: (50, 40)
        case .queueDeleteOk: (50, 41)
        case .basicQos: (60, 10)
        case .basicQosOk: (60, 11)
        case .basicConsume: (60, 20)
        case .basicConsumeOk: (60, 21)
        case .basicCancel: (60, 30)
        case .basicCancelOk: (60, 31)
        case .basicPublish: (60, 40)
        case .basicReturn: (60, 50)
        case .basicDeliver: (60, 60)
        case .basicAck: (60, 80)
        case .basicReject: (60, 90)
        case .basicNack: (60, 120)
        case .confirmSelect: (85, 10)
        case .confirmSelectOk: (85, 11)
        }
    }

    /// Whether this method is the answer to a synchronous request of the client on a channel.
    var isChannelReply: Bool {
        switch self {
        case .channelOpenOk, .channelCloseOk, .exchangeDeclareOk, .queueDeclareOk, .queueBindOk, .queueDeleteOk,
            .basicQosOk, .basicConsumeOk, .basicCancelOk, .confirmSelectOk, .channelFlowOk:
            true
        default:
            false
        }
    }

    /// Whether content (a header frame and body frames) follows the method.
    var hasContent: Bool {
        switch self {
        case .basicPublish, .basicDeliver, .basicReturn: true
        default: false
        }
    }

    /// "queue.declare", for messages.
    var name: String { AMQPMethod.name(classID: classID, methodID: methodID) }

    static func name(classID: UInt16, methodID: UInt16) -> String {
        let classes: [UInt16: String] = [10: "connection", 20: "channel", 40: "exchange", 50: "queue", 60: "basic", 85: "confirm"]
        return "\(classes[classID] ?? "class \(classID)").\(methodID)"
    }
}

/// Consecutive bit arguments share octets, lowest bit first.
private func bits(_ flags: Bool...) -> UInt8 {
    var octet: UInt8 = 0
    for (i, flag) in flags.enumerated() where flag { octet |= 1 << UInt8(i) }
    return octet
}

extension ByteBuffer {
    mutating func writeMethod(_ method: AMQPMethod) throws {
        writeInteger(method.classID)
        writeInteger(method.methodID)
        switch method {
        case .connectionStart(let major, let minor, let properties, let mechanisms, let locales):
            writeInteger(major); writeInteger(minor)
            try writeFieldTable(properties)
            writeLongString(mechanisms); writeLongString(locales)
        case .connectionStartOk(let properties, let mechanism, let response, let locale):
            try writeFieldTable(properties)
            try writeShortString(mechanism)
            writeLongString(response)
            try writeShortString(locale)
        case .connectionTune(let channelMax, let frameMax, let heartbeat), .connectionTuneOk(let channelMax, let frameMax, let heartbeat):
            writeInteger(channelMax); writeInteger(frameMax); writeInteger(heartbeat)
        case .connectionOpen(let virtualHost):
            try writeShortString(virtualHost)
            try writeShortString("")
            writeInteger(UInt8(0))
        case .connectionOpenOk:
            try writeShortString("")
        case .connectionClose(let code, let text, let classID, let methodID), .channelClose(let code, let text, let classID, let methodID):
            writeInteger(code)
            try writeShortString(String(text.utf8.prefix(255)) ?? "")
            writeInteger(classID); writeInteger(methodID)
        case .connectionCloseOk, .connectionUnblocked, .channelCloseOk, .exchangeDeclareOk, .queueBindOk, .basicQosOk, .confirmSelectOk:
            break
        case .connectionBlocked(let reason):
            try writeShortString(reason)
        case .channelOpen:
            try writeShortString("")
        case .channelOpenOk:
            writeLongString("")
        case .channelFlow(let active), .channelFlowOk(let active):
            writeInteger(bits(active))
        case .exchangeDeclare(let exchange, let type, let passive, let durable, let autoDelete, let isInternal, let noWait, let arguments):
            writeInteger(UInt16(0))
            try writeShortString(exchange); try writeShortString(type)
            writeInteger(bits(passive, durable, autoDelete, isInternal, noWait))
            try writeFieldTable(arguments)
        case .queueDeclare(let queue, let passive, let durable, let exclusive, let autoDelete, let noWait, let arguments):
            writeInteger(UInt16(0))
            try writeShortString(queue)
            writeInteger(bits(passive, durable, exclusive, autoDelete, noWait))
            try writeFieldTable(arguments)
        case .queueDeclareOk(let queue, let messageCount, let consumerCount):
            try writeShortString(queue); writeInteger(messageCount); writeInteger(consumerCount)
        case .queueBind(let queue, let exchange, let routingKey, let noWait, let arguments):
            writeInteger(UInt16(0))
            try writeShortString(queue); try writeShortString(exchange); try writeShortString(routingKey)
            writeInteger(bits(noWait))
            try writeFieldTable(arguments)
        case .queueDelete(let queue, let ifUnused, let ifEmpty, let noWait):
            writeInteger(UInt16(0))
            try writeShortString(queue)
            writeInteger(bits(ifUnused, ifEmpty, noWait))
        case .queueDeleteOk(let messageCount):
            writeInteger(messageCount)
        case .basicQos(let prefetchSize, let prefetchCount, let global):
            writeInteger(prefetchSize); writeInteger(prefetchCount); writeInteger(bits(global))
        case .basicConsume(let queue, let consumerTag, let noLocal, let noAck, let exclusive, let noWait, let arguments):
            writeInteger(UInt16(0))
            try writeShortString(queue); try writeShortString(consumerTag)
            writeInteger(bits(noLocal, noAck, exclusive, noWait))
            try writeFieldTable(arguments)
        case .basicConsumeOk(let consumerTag), .basicCancelOk(let consumerTag):
            try writeShortString(consumerTag)
        case .basicCancel(let consumerTag, let noWait):
            try writeShortString(consumerTag); writeInteger(bits(noWait))
        case .basicPublish(let exchange, let routingKey, let mandatory, let immediate):
            writeInteger(UInt16(0))
            try writeShortString(exchange); try writeShortString(routingKey)
            writeInteger(bits(mandatory, immediate))
        case .basicReturn(let code, let text, let exchange, let routingKey):
            writeInteger(code); try writeShortString(text); try writeShortString(exchange); try writeShortString(routingKey)
        case .basicDeliver(let consumerTag, let deliveryTag, let redelivered, let exchange, let routingKey):
            try writeShortString(consumerTag); writeInteger(deliveryTag); writeInteger(bits(redelivered))
            try writeShortString(exchange); try writeShortString(routingKey)
        case .basicAck(let deliveryTag, let multiple):
            writeInteger(deliveryTag); writeInteger(bits(multiple))
        case .basicReject(let deliveryTag, let requeue):
            writeInteger(deliveryTag); writeInteger(bits(requeue))
        case .basicNack(let deliveryTag, let multiple, let requeue):
            writeInteger(deliveryTag); writeInteger(bits(multiple, requeue))
        case .confirmSelect(let noWait):
            writeInteger(bits(noWait))
        }
    }

    mutating func readMethod() throws -> AMQPMethod {
        let classID: UInt16 = try readOrThrow()
        let methodID: UInt16 = try readOrThrow()
        func bit(_ octet: UInt8, _ i: UInt8) -> Bool { octet & (1 << i) != 0 }
        switch (classID, methodID) {
        case (10, 10):
            return .connectionStart(
                versionMajor: try readOrThrow(), versionMinor: try readOrThrow(), serverProperties: try readFieldTable(),
                mechanisms: try readLongString(), locales: try readLongString())
        case (10, 11):
            return .connectionStartOk(
                clientProperties: try readFieldTable(), mechanism: try readShortString(), response: try readLongString(),
                locale: try readShortString())
        case (10, 30):
            return .connectionTune(channelMax: try readOrThrow(), frameMax: try readOrThrow(), heartbeat: try readOrThrow())
        case (10, 31):
            return .connectionTuneOk(channelMax: try readOrThrow(), frameMax: try readOrThrow(), heartbeat: try readOrThrow())
        case (10, 40):
            let vhost = try readShortString()
            _ = try readShortString()
            let _: UInt8 = try readOrThrow()
            return .connectionOpen(virtualHost: vhost)
        case (10, 41):
            _ = try readShortString()
            return .connectionOpenOk
        case (10, 50):
            return .connectionClose(
                replyCode: try readOrThrow(), replyText: try readShortString(), classID: try readOrThrow(), methodID: try readOrThrow())
        case (10, 51):
            return .connectionCloseOk
        case (10, 60):
            return .connectionBlocked(reason: try readShortString())
        case (10, 61):
            return .connectionUnblocked
        case (20, 10):
            _ = try readShortString()
            return .channelOpen
        case (20, 11):
            _ = try readLongString()
            return .channelOpenOk
        case (20, 20):
            return .channelFlow(active: bit(try readOrThrow(), 0))
        case (20, 21):
            return .channelFlowOk(active: bit(try readOrThrow(), 0))
        case (20, 40):
            return .channelClose(
                replyCode: try readOrThrow(), replyText: try readShortString(), classID: try readOrThrow(), methodID: try readOrThrow())
        case (20, 41):
            return .channelCloseOk
        case (40, 10):
            let _: UInt16 = try readOrThrow()
            let exchange = try readShortString(), type = try readShortString()
            let flags: UInt8 = try readOrThrow()
            return .exchangeDeclare(
                exchange: exchange, type: type, passive: bit(flags, 0), durable: bit(flags, 1), autoDelete: bit(flags, 2), internal: bit(flags, 3),
                noWait: bit(flags, 4), arguments: try readFieldTable())
        case (40, 11):
            return .exchangeDeclareOk
        case (50, 10):
            let _: UInt16 = try readOrThrow()
            let queue = try readShortString()
            let flags: UInt8 = try readOrThrow()
            return .queueDeclare(
                queue: queue, passive: bit(flags, 0), durable: bit(flags, 1), exclusive: bit(flags, 2), autoDelete: bit(flags, 3),
                noWait: bit(flags, 4), arguments: try readFieldTable())
        case (50, 11):
            return .queueDeclareOk(queue: try readShortString(), messageCount: try readOrThrow(), consumerCount: try readOrThrow())
        case (50, 20):
            let _: UInt16 = try readOrThrow()
            let queue = try readShortString(), exchange = try readShortString(), routingKey = try readShortString()
            let flags: UInt8 = try readOrThrow()
            return .queueBind(queue: queue, exchange: exchange, routingKey: routingKey, noWait: bit(flags, 0), arguments: try readFieldTable())
        case (50, 21):
            return .queueBindOk
        case (50, 40):
            let _: UInt16 = try readOrThrow()
            let queue = try readShortString()
            let flags: UInt8 = try readOrThrow()
            return .queueDelete(queue: queue, ifUnused: bit(flags, 0), ifEmpty: bit(flags, 1), noWait: bit(flags, 2))
        case (50, 41):
            return .queueDeleteOk(messageCount: try readOrThrow())
        case (60, 10):
            let size: UInt32 = try readOrThrow(), count: UInt16 = try readOrThrow(), flags: UInt8 = try readOrThrow()
            return .basicQos(prefetchSize: size, prefetchCount: count, global: bit(flags, 0))
        case (60, 11):
            return .basicQosOk
        case (60, 20):
            let _: UInt16 = try readOrThrow()
            let queue = try readShortString(), tag = try readShortString()
            let flags: UInt8 = try readOrThrow()
            return .basicConsume(
                queue: queue, consumerTag: tag, noLocal: bit(flags, 0), noAck: bit(flags, 1), exclusive: bit(flags, 2), noWait: bit(flags, 3),
                arguments: try readFieldTable())
        case (60, 21):
            return .basicConsumeOk(consumerTag: try readShortString())
        case (60, 30):
            return .basicCancel(consumerTag: try readShortString(), noWait: bit(try readOrThrow(), 0))
        case (60, 31):
            return .basicCancelOk(consumerTag: try readShortString())
        case (60, 40):
            let _: UInt16 = try readOrThrow()
            let exchange = try readShortString(), routingKey = try readShortString()
            let flags: UInt8 = try readOrThrow()
            return .basicPublish(exchange: exchange, routingKey: routingKey, mandatory: bit(flags, 0), immediate: bit(flags, 1))
        case (60, 50):
            return .basicReturn(
                replyCode: try readOrThrow(), replyText: try readShortString(), exchange: try readShortString(), routingKey: try readShortString())
        case (60, 60):
            let tag = try readShortString(), deliveryTag: UInt64 = try readOrThrow(), flags: UInt8 = try readOrThrow()
            return .basicDeliver(
                consumerTag: tag, deliveryTag: deliveryTag, redelivered: bit(flags, 0), exchange: try readShortString(),
                routingKey: try readShortString())
        case (60, 80):
            let tag: UInt64 = try readOrThrow(), flags: UInt8 = try readOrThrow()
            return .basicAck(deliveryTag: tag, multiple: bit(flags, 0))
        case (60, 90):
            let tag: UInt64 = try readOrThrow(), flags: UInt8 = try readOrThrow()
            return .basicReject(deliveryTag: tag, requeue: bit(flags, 0))
        case (60, 120):
            let tag: UInt64 = try readOrThrow(), flags: UInt8 = try readOrThrow()
            return .basicNack(deliveryTag: tag, multiple: bit(flags, 0), requeue: bit(flags, 1))
        case (85, 10):
            return .confirmSelect(noWait: bit(try readOrThrow(), 0))
        case (85, 11):
            return .confirmSelectOk
        default:
            throw AMQPError(.protocolError, "unsupported method \(AMQPMethod.name(classID: classID, methodID: methodID))")
        }
    }

    mutating func readOrThrow<T: FixedWidthInteger>(as _: T.Type = T.self) throws -> T {
        guard let value = readInteger(as: T.self) else {
            throw AMQPError(.protocolError, "truncated method arguments")
        }
        return value
    }
}
