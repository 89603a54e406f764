import AllotAPI
import Foundation

/// The user data an instance runs at first boot: it finds its own id from the instance metadata service
/// (IMDSv2), installs `allot` when the image lacks it, and starts `allot agent` under systemd with the join
/// token, named for its instance and priced by its type, so that it joins as the node its intent waits for.
public enum BootScript {
    public static func render(intent: LaunchIntent, configuration: AutoscalerConfiguration, joinToken: String) -> String {
        let pricing = "cloud=\(intent.provider),region=\(intent.region),type=\(intent.instanceType),capacity=\(intent.spot ? "spot" : "on-demand")"
        var lines = [
            "#!/bin/sh",
            "# Written by Allot's autoscaler for \(intent.id).",
            "set -eu",
            "IMDS=http://169.254.169.254/latest",
            "TOKEN=$(curl -sf -X PUT $IMDS/api/token -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')",
            "INSTANCE=$(curl -sf -H \"X-aws-ec2-metadata-token: $TOKEN\" $IMDS/meta-data/instance-id)",
        ]
        if let agentURL = configuration.agentURL {
            lines.append(
                "command -v allot >/dev/null || { curl -fsSL \(quoted(agentURL)) -o /usr/local/bin/allot && chmod 0755 /usr/local/bin/allot; }"
            )
        }
        lines += [
            "mkdir -p /var/lib/allot",
            "cat > /etc/systemd/system/allot-agent.service <<UNIT",
            "[Unit]",
            "Description=Allot agent",
            "After=network-online.target",
            "[Service]",
        ]
        if let fingerprint = configuration.caFingerprint { lines.append("Environment=ALLOT_CA_SHA256=\(fingerprint)") }
        lines += [
            "ExecStart=/usr/local/bin/allot agent --server \(quoted(configuration.serverURL)) --token \(quoted(joinToken)) --name $INSTANCE"
                + " --pricing \(pricing),instance=$INSTANCE --data-dir /var/lib/allot",
            "Restart=always",
            "[Install]",
            "WantedBy=multi-user.target",
            "UNIT",
            "systemctl daemon-reload",
            "systemctl enable --now allot-agent",
        ]
        return lines.joined(separator: "\n") + "\n"
    }

    /// Single-quoted for sh (tokens and URLs hold no quote, but a file could).
    static func quoted(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'" }
}
