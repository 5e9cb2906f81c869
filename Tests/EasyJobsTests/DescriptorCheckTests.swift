import CEasyJobsABI
import EasyJobsCore
import Foundation
import Testing

@testable import EasyJobsHost

@Suite struct DescriptorCheckTests {
    let check = DescriptorCheck(file: "etl.so")
    let size = UInt32(MemoryLayout<easyjobs_plugin_descriptor>.size)

    func header(major: UInt16 = 1, minor: UInt16 = 0, magic: UInt32 = EASYJOBS_DESCRIPTOR_MAGIC, size: UInt32? = nil) -> DescriptorCheck.Header {
        .init(magic: magic, structSize: size ?? self.size, abiMajor: major, abiMinor: minor)
    }

    func message(_ body: () throws(EasyJobsError) -> Void) -> String? {
        do {
            try body()
            return nil
        } catch {
            return error.message
        }
    }

    @Test func acceptsTheHostsOwnABI() throws {
        try check.check(header(), entryMajor: 1)
    }

    @Test func refusesAnotherMajorNamingBothVersions() {
        #expect(
            message { () throws(EasyJobsError) in try check.check(header(major: 2), entryMajor: 2) } == "etl.so: plugin ABI 2.0, host supports 1.x")
    }

    @Test func refusesANewerMinor() {
        #expect(
            message { () throws(EasyJobsError) in try check.check(header(minor: 7), entryMajor: 1) }
                == "etl.so: plugin ABI 1.7, host supports 1.0 to 1.2")
    }

    @Test func refusesBadMagicAndShortDescriptors() {
        #expect(
            message { () throws(EasyJobsError) in try check.check(header(magic: 0xDEAD), entryMajor: 1) }?.contains("descriptor magic 0xdead") == true
        )
        #expect(
            message { () throws(EasyJobsError) in try check.check(header(size: 16), entryMajor: 1) }?.contains("descriptor size 16 bytes") == true)
    }

    @Test func refusesAnotherCompiler() {
        #expect(
            message { () throws(EasyJobsError) in try check.checkBuild(swiftVersion: "5.9", target: HostBuildInfo.target) }?.contains(
                "plugin built by Swift 5.9, host runs Swift") == true)
    }

    @Test func refusesDuplicateAndBadTasks() {
        let duplicate = Data(#"[{"name":"a","parameters":[],"options":{}},{"name":"a","parameters":[],"options":{}}]"#.utf8)
        #expect(message { () throws(EasyJobsError) in _ = try check.tasks(fromJSON: duplicate) } == "etl.so: task 'a' is declared twice")
        let badType = Data(#"[{"name":"a","parameters":[{"name":"x","type":"float","required":true}],"options":{}}]"#.utf8)
        #expect(
            message { () throws(EasyJobsError) in _ = try check.tasks(fromJSON: badType) }?.contains("task 'a' has an invalid description") == true)
        let derived = Data(#"[{"name":"a","error":"cannot derive the parameters"}]"#.utf8)
        #expect(message { () throws(EasyJobsError) in _ = try check.tasks(fromJSON: derived) } == "etl.so: task 'a': cannot derive the parameters")
    }
}
