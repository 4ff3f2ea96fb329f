//! Listings read to their end, a page at a time.

use std::fmt::Debug;

use crate::ports::{Page, PageRequest};

/// Every page of a listing of `limit` items a page, each asked for with the cursor of the one
/// before, until a page comes without one.
pub async fn every_page<T, E: Debug>(
    limit: u16,
    mut list: impl AsyncFnMut(PageRequest) -> Result<Page<T>, E>,
) -> Vec<Page<T>> {
    let mut pages = Vec::new();
    let mut request = PageRequest::first(limit).expect("a valid page size");
    loop {
        let page = list(request).await.expect("the listing answers");
        let next = page.next.clone();
        pages.push(page);
        match next {
            Some(cursor) => request = PageRequest::new(limit, Some(cursor)).expect("a valid page"),
            None => return pages,
        }
    }
}

/// Every item of a listing, read `limit` a page ([`every_page`]).
pub async fn every_item<T, E: Debug>(
    limit: u16,
    list: impl AsyncFnMut(PageRequest) -> Result<Page<T>, E>,
) -> Vec<T> {
    every_page(limit, list)
        .await
        .into_iter()
        .flat_map(|page| page.items)
        .collect()
}
