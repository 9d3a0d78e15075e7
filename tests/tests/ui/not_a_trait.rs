#[incluster::in_cluster_client]
pub struct ConfigMaps {
    pub name: String,
}
fn main() {}
